// Every file a user names is read with a limit (src/read-bounded.ts): one
// that never ends (/dev/zero, a FIFO whose writer keeps writing) or is far
// too large gets one line naming the file and the limit, never a process
// that reads until its heap is gone. `--config /dev/zero` did exactly that.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/root.js';
import { FileTooLargeError, readBoundedText } from '../../src/read-bounded.js';

class Text extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; error: Error | null; stderr: string }> {
  const stdout = new Text();
  const stderr = new Text();
  try {
    const code = await main(argv, { stdout, stderr, env: { RASAD_CONTROL: 'none', ...env }, cwd: dir });
    return { code, error: null, stderr: stderr.text };
  } catch (err) {
    return { code: null, error: err as Error, stderr: stderr.text };
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rasad-input-files-'));
  // A target that is never probed: every run below must stop at its input.
  writeFileSync(join(dir, 'targets.txt'), 'tcp://127.0.0.1:9\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readBoundedText', () => {
  it('reads a file up to the limit, and refuses one byte more', () => {
    const atLimit = join(dir, 'at-limit.txt');
    writeFileSync(atLimit, 'é'.repeat(512)); // 1,024 bytes of UTF-8
    expect(readBoundedText(atLimit, 1024)).toBe('é'.repeat(512));
    expect(() => readBoundedText(atLimit, 1023)).toThrow(FileTooLargeError);
  });

  it('stops reading a stream that never ends at the limit (/dev/zero, whose size is 0)', () => {
    const err = (() => {
      try {
        readBoundedText('/dev/zero', 64 * 1024);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err!.message).toBe('larger than 64 KiB');
  });

  it('stops reading a FIFO at the limit while its writer is still writing, without waiting for the end', async () => {
    const fifo = join(dir, 'endless.fifo');
    execFileSync('mkfifo', [fifo]);
    // `yes` writes for ever; `timeout` bounds it if the reader were to wait for an end.
    const writer = spawn('timeout', ['30', 'sh', '-c', `yes rasad > ${fifo}`], { stdio: 'ignore' });
    try {
      expect(() => readBoundedText(fifo, 256 * 1024)).toThrow('larger than 256 KiB');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('passes a file system error on with its code', () => {
    expect(() => readBoundedText(join(dir, 'absent.txt'), 1024)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('every file a user names is bounded', () => {
  it.each<[string, string[], NodeJS.ProcessEnv, RegExp]>([
    ['--config', ['once', '--config', '/dev/zero', '--targets', 'targets.txt', '--db', 'a.db'], {}, /\/dev\/zero.*cannot read the config file \(larger than 4 MiB\)/],
    ['--targets', ['once', '--targets', '/dev/zero', '--db', 'b.db'], {}, /\/dev\/zero: the targets file is larger than 5 MiB/],
    ['NODE_EXTRA_CA_CERTS', ['once', '--targets', 'targets.txt', '--db', 'c.db'], { NODE_EXTRA_CA_CERTS: '/dev/zero' }, /\/dev\/zero: NODE_EXTRA_CA_CERTS is not readable \(larger than 5 MiB\)/],
    ['a Citizen Lab list to import', ['targets', 'import-citizenlab', '/dev/zero'], {}, /\/dev\/zero: cannot read the CSV file \(larger than 20 MiB\)/],
    ['an OONI Run descriptor to import', ['targets', 'import-oonirun', '/dev/zero'], {}, /\/dev\/zero: cannot read the OONI Run descriptor \(larger than 20 MiB\)/],
    ['the helper\'s --ca-file', ['helper', '--listen', '127.0.0.1:0', '--ca-file', '/dev/zero'], {}, /--ca-file: cannot read \/dev\/zero: larger than 5 MiB/],
  ])('%s: one line naming the file and the limit', async (_what, argv, env, pattern) => {
    const r = await run(argv, env);
    const said = r.error?.message ?? r.stderr;
    expect(said).toMatch(pattern);
    expect(said.trim()).not.toContain('\n');
    expect(r.code).not.toBe(0);
  });
});
