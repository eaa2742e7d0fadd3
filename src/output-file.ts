// Where an `--out PATH` goes, and how. A regular file (or none yet) is
// written atomically: a temporary file beside it, renamed over it when
// complete. Renaming over anything else would replace the node itself (as
// root, `--out /dev/null` turned /dev/null into a regular file), so a
// character device or a FIFO is written in place, as a shell's `>` writes
// it. Through a symlink, the file it names is replaced and the link stays.
// A block device (a disk) or a socket is surely a typo: refused.
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface OutputTarget {
  /** The path written: the destination, or the file a symlink names. */
  path: string;
  /** Written in place (a device, a FIFO) rather than replaced atomically. */
  inPlace: boolean;
}

/** Why a destination cannot be written: one phrase ("is a block device (a disk); ..."), for the caller's message. */
export class OutputRefusedError extends Error {
  override name = 'OutputRefusedError';
}

export function resolveOutput(path: string): OutputTarget {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // Not there yet (or a dangling link): written where it was named.
  }
  let kind;
  try {
    kind = statSync(target);
  } catch {
    return { path: target, inPlace: false };
  }
  if (kind.isDirectory()) throw new OutputRefusedError('is a directory');
  if (kind.isBlockDevice()) throw new OutputRefusedError('is a block device (a disk); give a file, a FIFO or a character device such as /dev/null');
  if (kind.isSocket()) throw new OutputRefusedError('is a socket; give a file, a FIFO or a character device such as /dev/null');
  return { path: target, inPlace: !kind.isFile() };
}

/** A temporary file's name beside `path`: hidden, unique to this process and call. */
export function temporaryBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `text` to the output as resolveOutput says: atomically (fsynced,
 * then renamed; the temporary file removed on failure) or in place.
 */
export function writeOutputText(path: string, text: string): void {
  const output = resolveOutput(path);
  const bytes = Buffer.from(text, 'utf8');
  if (output.inPlace) {
    writeAllAndClose(openSync(output.path, 'w'), bytes, false);
    return;
  }
  const temporary = temporaryBeside(output.path);
  try {
    writeAllAndClose(openSync(temporary, 'wx'), bytes, true);
    renameSync(temporary, output.path);
  } catch (err) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created, or already renamed.
    }
    throw err;
  }
}

function writeAllAndClose(fd: number, bytes: Buffer, sync: boolean): void {
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
