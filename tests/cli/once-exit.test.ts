// `rasad once` exits 0 only for a sweep that completed: a partial or failed
// sweep is exit 3, one stopped by a signal 130 (documented in the README).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { onceCommand, onceExitCode } from '../../src/cli/commands/once.js';

describe('onceExitCode', () => {
  it.each([
    ['complete', 0],
    ['partial', 3],
    ['failed', 3],
    ['interrupted', 130],
  ])('%s → %i', (status, code) => {
    expect(onceExitCode(status)).toBe(code);
  });
});

describe('rasad once on a clock before 2025', () => {
  afterEach(() => vi.useRealTimers());

  it('refuses in one line that names the clock, before opening or probing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-once-clock-'));
    try {
      writeFileSync(join(dir, 'targets.txt'), 'tcp://127.0.0.1:9\n');
      // Only Date is faked: a Raspberry Pi that booted in 1970 and has not heard from NTP yet.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.parse('1970-01-01T00:00:42Z'));
      const run = onceCommand.run(['--targets', 'targets.txt', '--db', 'rasad.db'], { stdout: process.stdout, stderr: process.stderr, env: { RASAD_CONTROL: 'none' }, cwd: dir });
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow('rasad once: the system clock says 1970-01-01T00:00:42.000Z, before 2025: set the time (NTP) and run again');
      expect(existsSync(join(dir, 'rasad.db'))).toBe(false);
    } finally {
      vi.useRealTimers();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
