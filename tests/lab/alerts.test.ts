// Issue 7: a scenario switches blocking on mid-run, and exactly one `blocked`
// alert reaches the webhook receiver, then one `unblocked` when it is
// switched off. The REAL `rasad once` runs eight times on one database in the
// client namespace (confirmSweeps 2): 2 clean sweeps, 3 with Iran's blockpage
// on vpn.world.test, 3 clean again. The receiver listens on 127.0.0.1 inside
// the client namespace and writes each POST body as a JSON line; the
// `events` table (rasad export --events) must tell the same story.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  applyScenario,
  clearCensor,
  exportDb,
  newRunDir,
  onceArgs,
  parseJsonl,
  rasadInClient,
  REPO_ROOT,
  STATE_DIR,
  writeRasadConfig,
} from '../../lab/harness.js';
import { startInNamespace, stopByPidFile, waitListening, waitReady, isAlive } from '../../lab/processes.js';
import { useLab } from './client.js';

const RECEIVER = 'webhook-receiver';
const RECEIVER_PORT = 18_707;
const BLOCKED_URL = 'http://vpn.world.test/';
const PROBES = ['dns', 'tcp', 'tls', 'http'];
const TARGETS = [`${BLOCKED_URL} ANON`, 'https://clean.world.test/ NEWS', 'http://www.domestic.test/ MISC domestic'];
// Iran's blockpage on the middlebox: a verdict that rests on a fingerprint.
const BLOCKING = { censor: { http: [{ hosts: ['vpn.world.test'], action: 'blockpage' as const }] } };

interface Alert {
  source?: string;
  event_id?: string;
  kind?: string;
  url?: string | null;
  verdict?: string | null;
  text?: string;
  unparseable?: string;
}

let runDir = '';
let received = '';
let db = '';
let targets = '';
let config = '';
let sweeps = 0;

useLab({
  async setup() {
    runDir = newRunDir('alerts');
    received = join(runDir, 'received.jsonl');
    writeFileSync(received, '');
    db = join(runDir, 'rasad.db');
    targets = join(runDir, 'targets.txt');
    writeFileSync(targets, `# alert lab test\n${TARGETS.join('\n')}\n`);
    config = writeRasadConfig(join(runDir, 'config.json'), {
      confirmSweeps: 2,
      webhooks: [{ url: `http://127.0.0.1:${RECEIVER_PORT}/hook` }],
    });
    const receiver = startInNamespace('client', RECEIVER,
      [process.execPath, '--import', 'tsx', 'lab/services/webhook-receiver.ts', String(RECEIVER_PORT), received],
      { dir: STATE_DIR, cwd: REPO_ROOT });
    await waitReady([receiver]);
    const listening = await waitListening('client', '127.0.0.1', RECEIVER_PORT, 10_000, () => isAlive(receiver.pid));
    if (!listening) throw new Error(`the webhook receiver does not listen on 127.0.0.1:${RECEIVER_PORT} in client`);
    clearCensor();
  },
  teardown: () => stopByPidFile(STATE_DIR, RECEIVER),
});

/** One `rasad once` on the shared database; fails the test with rasad's stderr if it does not exit 0. */
async function sweep(): Promise<void> {
  const n = ++sweeps;
  const err = join(runDir, `once-${n}.err`);
  const code = await rasadInClient(onceArgs({ targets, db, config, probes: PROBES }), join(runDir, `once-${n}.out`), err);
  const tail = existsSync(err) ? readFileSync(err, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  expect(code, `rasad once (sweep ${n}) exited ${code}:\n${tail}`).toBe(0);
}

function alerts(): Alert[] {
  return readFileSync(received, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Alert);
}

/** The blocked URL's verdict in each sweep so far, oldest first (every web row of a URL carries its unit's verdict). */
async function verdictsBySweep(): Promise<string[]> {
  const rows = parseJsonl(await exportDb(db, 'jsonl', join(runDir, `export-${sweeps}.jsonl`)));
  const runs = new Map<string, { at: string; verdicts: Set<string> }>();
  for (const row of rows) {
    if (row.url !== BLOCKED_URL) continue;
    const runId = String(row.run_id);
    const at = String(row.started_at);
    const run = runs.get(runId) ?? { at, verdicts: new Set<string>() };
    if (at < run.at) run.at = at;
    run.verdicts.add(String(row.verdict));
    runs.set(runId, run);
  }
  return [...runs.values()].sort((a, b) => (a.at < b.at ? -1 : 1)).map((r) => [...r.verdicts].join('+'));
}

describe('alerts: blocking switched on mid-run, then off', () => {
  it('two clean sweeps: ok, and no alert', async () => {
    await sweep();
    await sweep();
    expect(await verdictsBySweep()).toEqual(['ok', 'ok']);
    expect(alerts()).toEqual([]);
  });

  it('blockpage switched on for three sweeps: exactly one `blocked` alert, with the verdict', async () => {
    await applyScenario(BLOCKING);
    try {
      await sweep();
      await sweep();
      await sweep();
    } finally {
      clearCensor();
    }
    expect(await verdictsBySweep()).toEqual(['ok', 'ok', 'http.blockpage', 'http.blockpage', 'http.blockpage']);
    const got = alerts();
    expect(got.map((a) => [a.kind, a.url, a.verdict]), JSON.stringify(got, null, 2)).toEqual([['blocked', BLOCKED_URL, 'http.blockpage']]);
    expect(got[0]!.source).toBe('rasad');
    expect(got[0]!.event_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('censor cleared for three sweeps: exactly one `unblocked` alert follows', async () => {
    await sweep();
    await sweep();
    await sweep();
    expect(await verdictsBySweep()).toEqual(['ok', 'ok', 'http.blockpage', 'http.blockpage', 'http.blockpage', 'ok', 'ok', 'ok']);
    const got = alerts();
    expect(got.map((a) => [a.kind, a.url, a.verdict]), JSON.stringify(got, null, 2)).toEqual([
      ['blocked', BLOCKED_URL, 'http.blockpage'],
      // An unblocked event carries the verdict the target had while blocked.
      ['unblocked', BLOCKED_URL, 'http.blockpage'],
    ]);
  });

  it('the events table holds the same two events, and the receiver got each once', async () => {
    const events = parseJsonl(await exportDb(db, 'jsonl', join(runDir, 'events.jsonl'), ['--events']));
    expect(events.map((e) => [e.kind, e.url, e.verdict]), JSON.stringify(events, null, 2)).toEqual([
      ['blocked', BLOCKED_URL, 'http.blockpage'],
      ['unblocked', BLOCKED_URL, 'http.blockpage'],
    ]);
    const got = alerts();
    expect(got.map((a) => a.event_id)).toEqual(events.map((e) => e.event_id));
    expect(new Set(got.map((a) => a.event_id)).size).toBe(got.length);
    // rasad's own record of the deliveries: both delivered at the first attempt, nothing left pending.
    const store = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const outbox = store.prepare('SELECT alert_id, kind, status, attempts FROM alert_outbox ORDER BY id').all();
      expect(outbox).toEqual(events.map((e) => ({ alert_id: e.event_id, kind: e.kind, status: 'delivered', attempts: 1 })));
    } finally {
      store.close();
    }
  });
});
