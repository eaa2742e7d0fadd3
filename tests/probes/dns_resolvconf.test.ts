// The UDP resolver's resolv.conf is read once and again only when the file
// changes (issue 17), with the path injected so a temp file plays
// /etc/resolv.conf.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResolvConfCache, udpServerFor } from '../../probes/dns.js';
import { noDnsOptions } from '../helpers/loopback/options.js';

const dir = mkdtempSync(join(tmpdir(), 'rasad-resolvconf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noResolver = { ...noDnsOptions(), resolver: '' };

describe('ResolvConfCache', () => {
  it('reads the file once while it is unchanged, and again when its mtime changes', async () => {
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, '# test\nnameserver 127.0.0.53\n');
    utimesSync(path, 1_000, 1_000);
    let clock = 0;
    const conf = new ResolvConfCache(path, 1000, () => clock);
    for (let i = 0; i < 5; i++) {
      clock += 300;
      const choice = await udpServerFor(noResolver, conf);
      expect(choice).toEqual({ server: { ip: '127.0.0.53', port: 53 }, label: '127.0.0.53:53', problem: null });
    }
    expect(conf.reads).toBe(1);

    writeFileSync(path, 'nameserver 127.0.0.54\n');
    utimesSync(path, 2_000, 2_000);
    clock += 1000;
    expect((await udpServerFor(noResolver, conf)).server).toEqual({ ip: '127.0.0.54', port: 53 });
    expect((await udpServerFor(noResolver, conf)).server).toEqual({ ip: '127.0.0.54', port: 53 });
    expect(conf.reads).toBe(2);
  });

  it('looks at the file at most once per recheck interval, and callers asking at once share one look', async () => {
    const path = join(dir, 'resolv-throttle.conf');
    writeFileSync(path, 'nameserver 127.0.0.53\n');
    let clock = 0;
    const conf = new ResolvConfCache(path, 1000, () => clock);
    const burst = await Promise.all(Array.from({ length: 50 }, () => udpServerFor(noResolver, conf)));
    expect(burst.every((c) => c.server?.ip === '127.0.0.53')).toBe(true);
    expect(conf.stats).toBe(1);
    // A change inside the interval is not seen yet; after it, it is.
    writeFileSync(path, 'nameserver 127.0.0.55\n');
    utimesSync(path, 3_000, 3_000);
    clock = 999;
    expect((await udpServerFor(noResolver, conf)).server?.ip).toBe('127.0.0.53');
    expect(conf.stats).toBe(1);
    clock = 1001;
    expect((await udpServerFor(noResolver, conf)).server?.ip).toBe('127.0.0.55');
    expect(conf.stats).toBe(2);
    expect(conf.reads).toBe(2);
  });

  it('a configured resolver does not touch the file; a missing file or no nameserver is a one-line problem', async () => {
    const conf = new ResolvConfCache(join(dir, 'absent.conf'));
    expect((await udpServerFor({ ...noResolver, resolver: '127.0.0.9:5353' }, conf)).server).toEqual({ ip: '127.0.0.9', port: 5353 });
    expect(conf.reads).toBe(0);
    expect(await udpServerFor(noResolver, conf)).toMatchObject({ server: null, problem: `cannot read ${join(dir, 'absent.conf')}` });
    const empty = join(dir, 'empty.conf');
    writeFileSync(empty, 'options ndots:1\n');
    expect(await udpServerFor(noResolver, new ResolvConfCache(empty))).toMatchObject({ server: null, problem: `no usable nameserver in ${empty}` });
  });
});
