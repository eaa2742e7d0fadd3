// A one-line progress display for long work on a terminal: redrawn in place,
// throttled, and silent when the stream is not a TTY (logs and pipes stay clean).
import { Writable } from 'node:stream';

type Terminal = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface Progress {
  update(done: number, total: number, detail?: string): void;
  /** Clears the bar (the line is left empty for what follows), then writes message and a newline if given. */
  finish(message?: string): void;
  /**
   * The same terminal for anything else written while the bar is shown (log
   * lines): each write clears the bar first, and the next update redraws it.
   * The stream itself when it is not a terminal.
   */
  readonly stream: Terminal;
}

const CLEAR_LINE = '\r\x1b[2K';

/** `shown`: draw at all (default: when the stream is a terminal). */
export function createProgress(stream: Terminal, label: string, shown = stream.isTTY === true): Progress {
  if (!shown || !stream.isTTY) return { update() {}, finish() {}, stream };
  let last = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write(CLEAR_LINE);
    drawn = false;
  };
  const draw = (done: number, total: number, detail = '') => {
    const width = Math.max(40, (stream.columns ?? 80) - 1);
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const barWidth = 20;
    const filled = total > 0 ? Math.round((done / total) * barWidth) : barWidth;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${done}/${total} ${pct}% ${detail}`;
    stream.write(`\r${line.slice(0, width).padEnd(width)}`);
    drawn = true;
  };
  // Writes pass through synchronously (the callback is called at once): nothing waits in a buffer at exit.
  const above = Object.assign(
    new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _encoding, done) {
        clear();
        stream.write(chunk);
        done();
      },
    }),
    { isTTY: true, columns: stream.columns },
  );
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (done < total && now - last < 100) return;
      last = now;
      draw(done, total, detail);
    },
    finish(message) {
      clear();
      if (message) stream.write(`${message}\n`);
    },
    stream: above,
  };
}
