// The export as a researcher runs it: `node --import tsx src/cli.ts export ...`
// in a real process, with real pipes and exit codes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/model.js';
import { fixtureMeasurements, fixtureRuns, jsonLines, makeFixtureDb, runExport, type FixtureDb } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rasad(args: string[], options: { closeStdoutAfterFirstChunk?: boolean } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      // A reader that goes away early, like `rasad export ... | head -1`.
      if (options.closeStdoutAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let fx: FixtureDb;
beforeAll(() => {
  fx = makeFixtureDb();
});
afterAll(() => fx.cleanup());

describe('rasad export (subprocess)', () => {
  it('writes the same JSONL as the in-process command, exit 0', async () => {
    const [child, inProcess] = await Promise.all([rasad(['export', '--db', fx.db, '--format', 'jsonl']), runExport(['--db', fx.db, '--format', 'jsonl'])]);
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    expect(child.stdout).toBe(inProcess.stdout);
    expect(jsonLines(child.stdout)).toHaveLength(14);
  });

  it('writes an OONI file with --out and says so on stderr', async () => {
    const out = join(fx.dir, 'ooni.jsonl');
    const child = await rasad(['export', '--db', fx.db, '--format', 'ooni', '--out', out, '--probe-cc', 'IR']);
    expect(child.code).toBe(0);
    expect(child.stdout).toBe('');
    expect(child.stderr).toMatch(/6 records \(14 measurements\) written to .*ooni\.jsonl/);
    const lines = jsonLines(readFileSync(out, 'utf8'));
    expect(lines.map((l) => l.probe_cc)).toEqual(['IR', 'IR', 'IR', 'IR', 'IR', 'IR']);
  });

  it('exits 2 with one line naming the flag or the file for bad input', async () => {
    const badFlag = await rasad(['export', '--db', fx.db, '--format', 'xml']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe('rasad export: --format: unknown format "xml" (jsonl, csv, ooni)\n');
    const missing = await rasad(['export', '--db', join(fx.dir, 'nope.db'), '--format', 'csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^rasad export: --db .*nope\.db: no such database file\n$/);
    expect(missing.stdout).toBe('');
  });

  it('stops quietly when the reader goes away (EPIPE), exit 0', async () => {
    const big = makeFixtureDb([
      ...fixtureMeasurements(),
      ...Array.from({ length: 2000 }, (_, i): Measurement => ({
        ...fixtureMeasurements().find((m) => m.probe === 'http' && m.verdict === 'ok')!,
        measurement_id: `copy-${i}`,
        run_id: fixtureRuns()[1]!.run_id,
        started_at: new Date(Date.parse('2025-06-01T14:00:00Z') + i * 1000).toISOString(),
      })),
    ]);
    try {
      const child = await rasad(['export', '--db', big.db, '--format', 'jsonl'], { closeStdoutAfterFirstChunk: true });
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      expect(child.stdout.length).toBeGreaterThan(0);
      expect(child.stdout.length).toBeLessThan(2000 * 1000);
    } finally {
      big.cleanup();
    }
  });
});
