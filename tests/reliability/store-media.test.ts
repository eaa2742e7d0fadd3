// The store on real media (needs root: it mounts small tmpfs file systems).
// Read-only (issue 16 #5): export and status read a database on a read-only
// mount, writing nothing. Full disk (issue 16 #1): a sweep that could not
// store its measurements is never recorded as complete.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/export/run-export.js';
import type { ExportSink } from '../../src/export/sink.js';
import { Store } from '../../src/store/store.js';
import { fakeMeasurement } from '../helpers/measurements.js';

const mounts: string[] = [];

function tmpfs(size: string): string {
  if (process.getuid?.() !== 0) throw new Error('this test needs root: it mounts a tmpfs (run the suite as root, as CI does)');
  const mnt = join(mkdtempSync(join(tmpdir(), `rasad-media-${process.pid}-`)), 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  mounts.push(mnt);
  return mnt;
}

afterEach(() => {
  for (const mnt of mounts.splice(0)) {
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // Already unmounted.
    }
  }
});

class MemorySink implements ExportSink {
  text = '';
  write(text: string): undefined {
    this.text += text;
    return undefined;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

describe('a database on a read-only mount', () => {
  it('is exported and read for status, with no lock, no -wal, nothing written', async () => {
    const mnt = tmpfs('8m');
    const file = join(mnt, 'rasad.db');
    const store = Store.open(file);
    store.beginRun({ run_id: 'run-1', started_at: '2026-11-01T10:00:00.000Z', probes: ['dns'], inputs_total: 2 });
    store.insertMeasurements([fakeMeasurement({ url: 'https://a.test/' }), fakeMeasurement({ url: 'https://b.test/', verdict: 'dns.injected' })]);
    store.insertEvents([{ event_id: 'e1', kind: 'blocked', target: 'b.test', url: 'https://b.test/', verdict: 'dns.injected', at: '2026-11-01T10:00:01.000Z', measurement_ids: [], details: {} }]);
    store.close();
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const before = readdirSync(mnt).sort();

    const reader = Store.openReadOnly(file);
    try {
      const sink = new MemorySink();
      const result = await writeExport(reader, { format: 'jsonl', events: false, filter: {}, includeIp: false, probeAsn: 'AS0', probeCc: 'ZZ' }, sink);
      expect(result).toMatchObject({ read: 2, written: 2, unreadable: 0, damaged: null });
      expect(sink.text.trim().split('\n')).toHaveLength(2);
      // What `rasad status` reads.
      expect(reader.latestVerdicts().map((r) => r.verdict).sort()).toEqual(['dns.injected', 'ok']);
      expect(reader.recentEvents(10).map((e) => e.event_id)).toEqual(['e1']);
      expect(reader.listTargetStates()).toEqual([]);
    } finally {
      reader.close();
    }
    // The same through open({ readonly: true }), as the CLI calls it today.
    Store.open(file, { readonly: true }).close();
    expect(readdirSync(mnt).sort()).toEqual(before);
    // A writable open says why it cannot, in one line.
    expect(() => Store.open(file)).toThrow(/rasad\.db: (the database file is not writable|cannot)/);
  });
});

describe('a sweep on a full disk', () => {
  it('is settled partial when some batches were refused, failed when none was stored', () => {
    const mnt = tmpfs('2m');
    const file = join(mnt, 'rasad.db');
    const store = Store.open(file);
    try {
      const batch = (run: string, n: number) =>
        Array.from({ length: n }, (_, i) => fakeMeasurement({ run_id: run, url: `https://s${i}.test/`, details: { hostname: 'x', pad: 'p'.repeat(3000) } }));
      store.beginRun({ run_id: 'partial', started_at: '2026-11-01T10:00:00.000Z', probes: ['dns'], inputs_total: 20 });
      store.beginRun({ run_id: 'failed', started_at: '2026-11-01T11:00:00.000Z', probes: ['dns'], inputs_total: 20 });
      store.insertMeasurements(batch('partial', 10));
      // Fill the disk to the last byte.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // "No space left on device": that is the point.
      }
      let refused = 0;
      for (let i = 0; i < 20; i++) {
        try {
          store.insertMeasurements(batch('partial', 10));
        } catch {
          refused++;
        }
      }
      expect(refused).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) expect(() => store.insertMeasurements(batch('failed', 10))).toThrow();
      const stored = store.countMeasurements({ runId: 'partial' });
      const partial = store.settleRun('partial', { interrupted: false, measured: 210, summary: { dropped: 210 - stored } });
      expect(partial).toMatchObject({ status: 'partial', measured: 210, stored });
      const failed = store.settleRun('failed', { interrupted: false, measured: 30, summary: {} });
      expect(failed).toMatchObject({ status: 'failed', measured: 30, stored: 0 });
      // Whether the run rows themselves could be written on the full disk, the caller is told.
      for (const settled of [partial, failed]) {
        if (!settled.recorded) expect(settled.error?.code).toBe('RASAD_DB_WRITE_FAILED');
      }
      rmSync(join(mnt, 'filler'));
      for (const [id, settled] of [['partial', partial], ['failed', failed]] as const) {
        const row = store.getRun(id)!;
        if (settled.recorded) expect(row).toMatchObject({ status: settled.status, summary: expect.objectContaining({ measurements_stored: settled.stored, measurements_measured: settled.measured }) });
        else expect(row.status).toBe('running');
      }
    } finally {
      store.close();
    }
  });
});
