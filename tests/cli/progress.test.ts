// Long work shows progress on a terminal, and nothing anywhere else.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';

function stream(isTTY: boolean) {
  let text = '';
  const s = Object.assign(new Writable({ write(chunk, _enc, done) { text += chunk; done(); } }), { isTTY, columns: 80 });
  return { s, text: () => text };
}

describe('createProgress', () => {
  it('redraws done/total and the current work on one terminal line, then clears it', () => {
    const out = stream(true);
    const p = createProgress(out.s, 'rasad once');
    p.update(0, 4, 'a.test');
    p.update(4, 4, 'd.test');
    p.finish('done');
    const text = out.text();
    expect(text).toContain('rasad once [....................] 0/4 0% a.test');
    expect(text).toContain('rasad once [####################] 4/4 100% d.test');
    expect(text.startsWith('\r')).toBe(true);
    expect(text).not.toContain('\n0/4');
    expect(text.endsWith('\r\x1b[2Kdone\n')).toBe(true);
  });

  it('writes nothing when the stream is not a terminal (logs and pipes stay clean)', () => {
    const out = stream(false);
    const p = createProgress(out.s, 'rasad once');
    p.update(1, 2, 'x');
    p.finish('done');
    expect(out.text()).toBe('');
  });

  it('clears the bar before anything else written meanwhile (a log line, the summary), and redraws it after', () => {
    const out = stream(true);
    const p = createProgress(out.s, 'rasad once');
    p.update(1, 4, 'a.test');
    p.stream.write('{"msg":"sweep complete"}\n');
    p.update(4, 4, 'd.test');
    p.finish();
    out.s.write('rasad once: run r1 complete\n');
    const text = out.text();
    // The log line starts on a cleared line, not after the bar.
    expect(text).toMatch(/1\/4 25% a\.test *\r\x1b\[2K\{"msg":"sweep complete"\}\n\r/);
    // The summary follows a cleared line.
    expect(text.endsWith('\r\x1b[2Krasad once: run r1 complete\n')).toBe(true);
    expect(p.stream.isTTY).toBe(true);
  });

  it('passes writes straight through when nothing is drawn', () => {
    const out = stream(false);
    const p = createProgress(out.s, 'rasad once');
    p.update(1, 2, 'x');
    p.stream.write('a log line\n');
    expect(out.text()).toBe('a log line\n');
    const shown = stream(true);
    createProgress(shown.s, 'rasad export', false).update(1, 2);
    expect(shown.text()).toBe('');
  });
});
