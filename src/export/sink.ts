// Where an export goes: a stream (stdout) or a file written atomically.
// Lines are gathered into chunks of about 64 KiB (a syscall per row would
// dominate), and a full chunk is not followed by another until the
// destination has taken it: 'drain' for a stream, the write's completion for
// a file. Memory stays flat whatever the size of the export.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveOutput, temporaryBeside } from '../output-file.js';

const CHUNK_BYTES = 64 * 1024;

export interface ExportSink {
  /**
   * Queues text. Returns a promise when the chunk went to the destination
   * (await it before writing more), nothing when the text was only buffered.
   */
  write(text: string): Promise<void> | undefined;
  /**
   * Writes a chunk of UTF-8 bytes that a caller gathered itself (after any
   * text still buffered). Await it before writing more. The chunk is the
   * sink's from then on: the caller must not reuse it.
   */
  writeBytes?(chunk: Uint8Array): Promise<void>;
  /** Writes what is buffered and makes the output final. */
  finish(): Promise<void>;
  /** Gives the output up: a file export leaves nothing behind. */
  abort(): Promise<void>;
}

abstract class BufferedSink implements ExportSink {
  private buffer = '';

  write(text: string): Promise<void> | undefined {
    this.buffer += text;
    if (this.buffer.length < CHUNK_BYTES) return undefined;
    const chunk = this.buffer;
    this.buffer = '';
    return this.writeChunk(chunk);
  }

  async writeBytes(chunk: Uint8Array): Promise<void> {
    if (this.buffer.length > 0) {
      const text = this.buffer;
      this.buffer = '';
      await this.writeChunk(text);
    }
    await this.writeChunk(chunk);
  }

  async finish(): Promise<void> {
    if (this.buffer.length > 0) {
      const chunk = this.buffer;
      this.buffer = '';
      await this.writeChunk(chunk);
    }
    await this.commit();
  }

  async abort(): Promise<void> {
    this.buffer = '';
    await this.discard();
  }

  protected abstract writeChunk(chunk: string | Uint8Array): Promise<void>;
  protected abstract commit(): Promise<void>;
  protected abstract discard(): Promise<void>;
}

/** A writable stream (stdout). It is not ended: it belongs to the caller. */
export class StreamSink extends BufferedSink {
  private failure: Error | null = null;
  private readonly onError = (err: Error) => {
    this.failure ??= err;
  };

  constructor(private readonly stream: NodeJS.WritableStream) {
    super();
    // Without a listener, EPIPE (a reader that went away) would be an uncaught exception.
    stream.on('error', this.onError);
  }

  protected async writeChunk(chunk: string | Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(chunk)) await this.drained();
    if (this.failure) throw this.failure;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }

  protected async commit(): Promise<void> {
    this.stream.off('error', this.onError);
    if (this.failure) throw this.failure;
  }

  protected async discard(): Promise<void> {
    this.stream.off('error', this.onError);
  }
}

/**
 * A file written atomically: the rows go to a temporary file in the same
 * directory, which is fsynced and renamed over the destination only when the
 * export is complete. A failed export removes the temporary file; the
 * destination is then as it was before (absent, or the previous export).
 */
export class AtomicFileSink extends BufferedSink {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {
    super();
  }

  static async create(path: string): Promise<AtomicFileSink> {
    const tempPath = temporaryBeside(path);
    const handle = await open(tempPath, 'wx');
    return new AtomicFileSink(path, tempPath, handle);
  }

  protected writeChunk(chunk: string | Uint8Array): Promise<void> {
    return writeAll(this.handle, chunk);
  }

  protected async commit(): Promise<void> {
    try {
      await this.handle.sync();
      await this.close();
      await rename(this.tempPath, this.path);
    } catch (err) {
      await this.discard();
      throw err;
    }
    await syncDirectory(dirname(this.path));
  }

  protected async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/**
 * A destination that is not a regular file (a character device such as
 * /dev/null or /dev/stdout, a FIFO), written in place as a shell's `>`
 * writes it. Renaming a temporary file over it would replace the device
 * node itself (as root, /dev/null would become a file). Not atomic: a
 * failed export leaves there what was written before the failure.
 */
export class InPlaceFileSink extends BufferedSink {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {
    super();
  }

  static async create(path: string): Promise<InPlaceFileSink> {
    return new InPlaceFileSink(path, await open(path, 'w'));
  }

  protected writeChunk(chunk: string | Uint8Array): Promise<void> {
    return writeAll(this.handle, chunk);
  }

  protected commit(): Promise<void> {
    return this.close();
  }

  protected async discard(): Promise<void> {
    await this.close().catch(() => undefined);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export type FileSink = AtomicFileSink | InPlaceFileSink;

/**
 * The sink for `--out PATH`, as src/output-file.ts resolves it: atomic for
 * a regular file (through a symlink, the file it names), in place for a
 * character device or a FIFO. Throws OutputRefusedError for the rest.
 */
export async function createFileSink(path: string): Promise<FileSink> {
  const output = resolveOutput(path);
  return output.inPlace ? InPlaceFileSink.create(output.path) : AtomicFileSink.create(output.path);
}

async function writeAll(handle: FileHandle, chunk: string | Uint8Array): Promise<void> {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** Makes a rename durable. Best effort: some filesystems refuse fsync on a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // The file itself is synced; only the directory entry's durability is at stake.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
