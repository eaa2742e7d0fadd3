// Reading a file a user named (a config, a targets list, a CA bundle, a list
// to import) with a size limit. readFileSync reads to the end, and some ends
// never come: `--config /dev/zero` grew the heap until the process died, and
// a FIFO nobody closes never ends at all. The limit is checked against the
// file's size first, then while reading (a pipe's size is 0; a file may
// grow), and nothing past it is ever held.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A PEM bundle of every public root CA is about 220 KiB. */
export const MAX_CA_FILE_BYTES = 5 * 1024 * 1024;

/** The file holds more than the limit: nothing of it was kept. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  readonly code = 'EFBIG';

  constructor(readonly limitBytes: number) {
    super(`larger than ${describeBytes(limitBytes)}`);
  }
}

/** "5 MiB", "64 KiB": how the limit is named in messages. */
export function describeBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * The file's text as UTF-8, or a FileTooLargeError when it holds more than
 * `limitBytes`. Errors of the file system are thrown as they are (with
 * their code: ENOENT, EACCES, EISDIR ...).
 */
export function readBoundedText(path: string, limitBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size > limitBytes) throw new FileTooLargeError(limitBytes);
    // One byte past the limit tells a file at the limit from one beyond it.
    const buffer = Buffer.allocUnsafe(Math.min(limitBytes + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      total += n;
      if (total > limitBytes) throw new FileTooLargeError(limitBytes);
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** What a failed read says in a message: the file system's code, or "larger than N MiB". */
export function readFailure(err: unknown): string {
  if (err instanceof FileTooLargeError) return err.message;
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
