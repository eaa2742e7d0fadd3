// The export's sinks: a stream sink that waits for 'drain' (a slow reader
// never has more than about a chunk queued), that reports a failing stream
// instead of crashing, and a file sink that only shows a complete file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicFileSink, StreamSink, type ExportSink } from '../../src/export/sink.js';

const LINE = `${'x'.repeat(1023)}\n`;

async function writeLines(sink: ExportSink, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const pending = sink.write(LINE);
    if (pending) await pending;
  }
}

describe('StreamSink', () => {
  it('waits for a slow reader: the queue never holds much more than one chunk', async () => {
    let received = 0;
    let maxQueued = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, callback) {
        maxQueued = Math.max(maxQueued, slow.writableLength);
        received += chunk.length;
        setImmediate(callback);
      },
    });
    const sink = new StreamSink(slow);
    await writeLines(sink, 2000);
    await sink.finish();
    await new Promise<void>((resolve) => (slow.writableLength === 0 ? resolve() : slow.once('drain', () => resolve())));
    expect(received).toBe(2000 * LINE.length);
    // 2 MB went through; without waiting for 'drain' nearly all of it would have queued at once.
    expect(maxQueued).toBeLessThanOrEqual(2 * 66 * 1024);
  });

  it('turns a stream error (a reader that went away) into a rejected write, not a crash', async () => {
    const broken = new Writable({
      write(_chunk, _enc, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const sink = new StreamSink(broken);
    const failure = await writeLines(sink, 500).then(
      () => sink.finish(),
    ).then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    expect(failure?.code).toBe('EPIPE');
  });
});

describe('AtomicFileSink', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes to a hidden temporary file and shows the destination only when finished', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rasad-sink-'));
    const path = join(dir, 'out.jsonl');
    const sink = await AtomicFileSink.create(path);
    await writeLines(sink, 200);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(sink.tempPath)).toBe(true);
    await sink.finish();
    expect(readFileSync(path, 'utf8')).toBe(LINE.repeat(200));
    expect(readdirSync(dir)).toEqual(['out.jsonl']);
  });

  it('leaves nothing when aborted, even after chunks reached the disk', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rasad-sink-'));
    const sink = await AtomicFileSink.create(join(dir, 'out.jsonl'));
    await writeLines(sink, 200);
    expect(readFileSync(sink.tempPath).length).toBeGreaterThan(64 * 1024);
    await sink.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('writeBytes', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps byte chunks in order with the text buffered before them, in a file and in a stream', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rasad-sink-bytes-'));
    const path = join(dir, 'out.csv');
    const file = await AtomicFileSink.create(path);
    const received: Buffer[] = [];
    const stream = new StreamSink(
      new Writable({
        write(chunk: Buffer, _enc, callback) {
          received.push(Buffer.from(chunk));
          callback();
        },
      }),
    );
    for (const sink of [file, stream]) {
      sink.write('header\r\n');
      await sink.writeBytes(Buffer.from('row 1 ✓\r\n', 'utf8'));
      sink.write('row 2\r\n');
      await sink.writeBytes(Buffer.from('row 3\r\n', 'utf8'));
      await sink.finish();
    }
    const expected = 'header\r\nrow 1 ✓\r\nrow 2\r\nrow 3\r\n';
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(Buffer.concat(received).toString('utf8')).toBe(expected);
  });
});
