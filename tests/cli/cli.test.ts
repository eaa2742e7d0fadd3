// The command line is a contract that outside tests drive: exit codes, one-line
// errors naming the file and line, and a real sweep stored and exported.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { rasad } from '../helpers/rasad.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rasad-cli-'));
const oneLine = (s: string) => s.trim().split('\n').length === 1;

describe('rasad --help', () => {
  it('lists the built commands and exits 0', async () => {
    const r = await rasad(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['run', 'once', 'export', 'status', 'helper', 'targets']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('gives every command its own --help', async () => {
    for (const c of ['run', 'once', 'export', 'status', 'helper', 'targets']) {
      const r = await rasad([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`rasad ${c}`);
    }
  });

  it('exits 2 with no command, and on an unknown one', async () => {
    expect((await rasad([])).code).toBe(2);
    const r = await rasad(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('bad input: one line, exit code 2, nothing lost', () => {
  it('a bad flag', async () => {
    const r = await rasad(['once', '--bogus']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("Unknown option '--bogus'");
  });

  it('an unknown probe kind', async () => {
    const r = await rasad(['once', '--probes', 'dns,telepathy']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('--probes: unknown probe "telepathy" (known: dns, tcp, tls, http, tls_duration, throughput, protocol, telegram, whatsapp, signal, facebook_messenger, tor, openvpn, wireguard)');
  });

  it('a bad targets line names the file and the line', async () => {
    const dir = tmp();
    const file = join(dir, 'targets.txt');
    writeFileSync(file, '# ok\nhttps://example.test/ NEWS\nftp://bad.test/ NEWS\n');
    const r = await rasad(['once', '--targets', file, '--db', join(dir, 'db.sqlite')]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain(`${file}:3:`);
  });

  it('a config file with an unknown key', async () => {
    const dir = tmp();
    const file = join(dir, 'rasad.json');
    writeFileSync(file, JSON.stringify({ retries: 1, retires: 2 }));
    const r = await rasad(['once', '--config', file, '--db', join(dir, 'db.sqlite')]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain('retires');
  });

  it('a corrupt database: a clear error, and the file is never overwritten', async () => {
    const dir = tmp();
    const db = join(dir, 'broken.db');
    writeFileSync(db, 'not a database at all'.repeat(500));
    const before = createHash('sha256').update(readFileSync(db)).digest('hex');
    for (const args of [['once', '--db', db, '--targets', join(dir, 't.txt')], ['export', '--db', db, '--format', 'jsonl'], ['status', '--db', db]]) {
      writeFileSync(join(dir, 't.txt'), 'http://127.0.0.1:9/ NEWS\n');
      const r = await rasad(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('broken.db');
    }
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(before);
  });
});

describe('rasad once without --probes', () => {
  it('runs the probes the configured web schedule runs (schedules.web.probes)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 't.txt'), 'http://127.0.0.1:9/ NEWS\n');
    const config = join(dir, 'rasad.json');
    writeFileSync(config, JSON.stringify({ schedules: { web: { probes: ['tcp'] } }, controls: [], webhooks: [], http: { enabled: false } }));
    const db = join(dir, 'db.sqlite');
    const r = await rasad(['once', '--config', config, '--targets', join(dir, 't.txt'), '--db', db], { env: { UV_THREADPOOL_SIZE: '64' } });
    expect(r.code, r.stderr).toBe(0);
    const store = Store.openReadOnly(db);
    try {
      const probes = store.db.prepare('SELECT DISTINCT probe FROM measurements').pluck().all();
      expect(probes).toEqual(['tcp']);
    } finally {
      store.close();
    }
  });
});

describe('rasad status finds the database as the daemon does', () => {
  it('reads RASAD_DB (the Docker image sets it) when no --db is given, and --db wins over it', async () => {
    const dir = tmp();
    const db = join(dir, 'elsewhere.db');
    Store.open(db).close();
    const viaEnv = await rasad(['status', '--json'], { env: { RASAD_DB: db } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as { database: string }).database).toBe(db);
    const missing = join(dir, 'missing.db');
    const flagWins = await rasad(['status', '--db', missing], { env: { RASAD_DB: db } });
    expect(flagWins.code).toBe(2);
    expect(flagWins.stderr).toContain('missing.db: no such database');
  });
});

describe('the daemon\'s own settings', () => {
  it('a dashboard port that is taken is a one-line error, exit 2, not a crash', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 't.txt'), 'http://127.0.0.1:9/ NEWS\n');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await rasad(['run', '--targets', join(dir, 't.txt'), '--db', join(dir, 'db.sqlite')], { env: { RASAD_HTTP_PORT: String(port), UV_THREADPOOL_SIZE: '64' } });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`rasad run: the dashboard cannot listen on 127.0.0.1:${port} (EADDRINUSE); set http.port / RASAD_HTTP_PORT, or http.enabled false`);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('warns when libuv\'s thread pool was left at its default, and not when bin/rasad sized it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 't.txt'), 'http://127.0.0.1:9/ NEWS\n');
    const args = ['once', '--targets', join(dir, 't.txt'), '--db', join(dir, 'db.sqlite'), '--probes', 'dns'];
    const bare = await rasad(args, { env: { UV_THREADPOOL_SIZE: '' } });
    expect(bare.code).toBe(0);
    expect(bare.stderr).toContain('UV_THREADPOOL_SIZE is not set');
    const sized = await rasad(args, { env: { UV_THREADPOOL_SIZE: '64' } });
    expect(sized.code).toBe(0);
    expect(sized.stderr).not.toContain('UV_THREADPOOL_SIZE');
  });
});

describe('rasad once on loopback', () => {
  let site: Server;
  let port: number;
  beforeAll(async () => {
    site = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<html><head><title>Loopback news</title></head><body>hello</body></html>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    port = (site.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => site.close(() => r())));

  it('stores one measurement per probe with a verdict, exits 0, and exports them', async () => {
    const dir = tmp();
    const db = join(dir, 'db.sqlite');
    writeFileSync(join(dir, 't.txt'), `http://127.0.0.1:${port}/ NEWS\nhttp://127.0.0.1:1/closed MISC\n`);
    const r = await rasad(['once', '--targets', join(dir, 't.txt'), '--db', db, '--probes', 'dns,tcp,http']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/run [0-9a-f-]+ complete: 2 units, 6 measurements/);

    const store = Store.open(db, { readonly: true });
    const rows = [...store.iterateMeasurements()];
    store.close();
    expect(rows.map((m) => m.probe).sort()).toEqual(['dns', 'dns', 'http', 'http', 'tcp', 'tcp']);
    const open = rows.find((m) => m.probe === 'http' && m.url === `http://127.0.0.1:${port}/`)!;
    expect(open.failure).toBeNull();
    expect((open.details as { hops: { status_code: number; title: string }[] }).hops[0]).toMatchObject({ status_code: 200, title: 'Loopback news' });
    const closed = rows.find((m) => m.probe === 'http' && m.url.endsWith(':1/closed'))!;
    expect(closed.failure).toBe('connection_refused');
    expect(closed.failed_operation).toBe('connect');
    // No control was configured: a refused port alone is not evidence of censorship.
    expect(closed.verdict).not.toBe('ok');
    expect(['inconclusive', 'tcp.blocked', 'down']).toContain(closed.verdict);

    const out = await rasad(['export', '--db', db, '--format', 'jsonl']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      for (const key of ['measurement_id', 'run_id', 'target', 'url', 'probe', 'started_at', 'runtime_ms', 'failure', 'verdict', 'verdict_reason', 'details']) expect(line, key).toHaveProperty(key);
      expect(line.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
  });
});
