// A one-line progress display for long work on a terminal: redrawn in place,
// throttled, and silent when the stream is not a TTY (logs and pipes stay clean).
export interface Progress {
  update(done: number, total: number, detail?: string): void;
  finish(message?: string): void;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, label: string): Progress {
  if (!stream.isTTY) return { update() {}, finish() {} };
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number, detail = '') => {
    const width = Math.max(40, (stream.columns ?? 80) - 1);
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const barWidth = 20;
    const filled = total > 0 ? Math.round((done / total) * barWidth) : barWidth;
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${done}/${total} ${pct}% ${detail}`;
    stream.write(`\r${line.slice(0, width).padEnd(width)}`);
    drawn = true;
  };
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (done < total && now - last < 100) return;
      last = now;
      draw(done, total, detail);
    },
    finish(message) {
      if (drawn) stream.write('\r\x1b[2K');
      if (message) stream.write(`${message}\n`);
    },
  };
}
