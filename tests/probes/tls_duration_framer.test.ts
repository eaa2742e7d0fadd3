// The HTTP/1.1 response framer of the keep-alive sessions (probes/http1_framer.ts),
// on golden byte inputs: where each response ends, and what it said about
// the connection (Connection: close, Keep-Alive: timeout=N, max=M).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeepAlive, ResponseFramingError, ResponseSkipper } from '../../probes/http1_framer.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** Feeds `stream` cut at `cuts`; returns the responses completed. */
function feedSplit(skipper: ResponseSkipper, stream: Buffer, cuts: number[]): number {
  const points = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
  let completed = 0;
  for (let i = 1; i < points.length; i++) completed += skipper.feed(stream.subarray(points[i - 1], points[i]));
  return completed;
}

describe('ResponseSkipper framing', () => {
  const responses = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: 1\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: y\r\n\r\n',
    'HTTP/1.0 304 Not Modified\r\n\r\n',
    'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
  ];
  const stream = bytes(responses.join(''));

  it('finds the end of every response however the bytes are split', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 20 }), (cuts) => {
        expect(feedSplit(new ResponseSkipper(1 << 20), stream, cuts)).toBe(responses.length);
      }),
    );
  });

  it('counts a content-length body byte by byte and completes exactly at its end', () => {
    const skipper = new ResponseSkipper(100);
    expect(skipper.feed(bytes('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab'))).toBe(0);
    expect(skipper.feed(bytes('c'))).toBe(1);
    // Bare LF line ends are tolerated.
    expect(skipper.feed(bytes('HTTP/1.1 404 Not Found\nContent-Length: 1\n\nx'))).toBe(1);
    expect(skipper.lastResponse?.status).toBe(404);
  });

  it('reads a body without framing until the close', () => {
    const skipper = new ResponseSkipper(1 << 20);
    expect(skipper.readingUntilClose).toBe(false);
    expect(skipper.feed(bytes('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome body'))).toBe(0);
    expect(skipper.readingUntilClose).toBe(true);
    expect(skipper.currentHints).toMatchObject({ status: 200, close: true });
    expect(skipper.feed(bytes('HTTP/1.1 200 OK\r\n\r\n'))).toBe(0); // still body: it runs to the close
  });

  it('rejects malformed or oversized responses with one clear reason', () => {
    const cases: [string, number, RegExp][] = [
      ['SSH-2.0-OpenSSH\r\n', 100, /status line/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n', 100, /read limit/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 100, /chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n', 100, /CRLF after chunk/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 100, /conflicting/],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 100, /malformed Content-Length/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 100, /header line/],
      ['HTTP/2 200\r\n\r\n', 100, /status line/],
    ];
    for (const [text, limit, error] of cases) {
      expect(() => new ResponseSkipper(limit).feed(bytes(text)), text).toThrow(error);
      expect(() => new ResponseSkipper(limit).feed(bytes(text))).toThrow(ResponseFramingError);
    }
    expect(() => new ResponseSkipper(1 << 20).feed(Buffer.alloc(40 * 1024, 'a'))).toThrow(/too long|too large/);
    expect(() => new ResponseSkipper(1 << 20).feed(bytes(`HTTP/1.1 200 OK\r\n${'X: y\r\n'.repeat(8000)}`))).toThrow(/too large/);
  });

  it('never throws anything but a framing error on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (garbage) => {
        try {
          new ResponseSkipper(1024).feed(Buffer.from(garbage));
        } catch (err) {
          expect(err).toBeInstanceOf(ResponseFramingError);
        }
      }),
    );
  });
});

describe('ResponseSkipper connection hints', () => {
  it('reads Connection: close, in any case and among other tokens', () => {
    const skipper = new ResponseSkipper(100);
    skipper.feed(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: Upgrade, CLOSE\r\n\r\n'));
    expect(skipper.lastResponse).toEqual({ status: 200, close: true, keepAlive: null });
    skipper.feed(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n'));
    expect(skipper.lastResponse!.close).toBe(false);
    skipper.feed(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: closed-captions\r\n\r\n'));
    expect(skipper.lastResponse!.close).toBe(false);
  });

  it('takes HTTP/1.0 as closing unless it says keep-alive', () => {
    const skipper = new ResponseSkipper(100);
    skipper.feed(bytes('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(skipper.lastResponse!.close).toBe(true);
    skipper.feed(bytes('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=15, max=99\r\n\r\n'));
    expect(skipper.lastResponse).toEqual({ status: 200, close: false, keepAlive: { timeout_s: 15, max: 99 } });
  });

  it('reads the Keep-Alive limits of Apache, of Node, and ignores what it cannot read', () => {
    expect(parseKeepAlive('timeout=5, max=100')).toEqual({ timeout_s: 5, max: 100 });
    expect(parseKeepAlive('timeout=5')).toEqual({ timeout_s: 5, max: null });
    expect(parseKeepAlive('MAX="7"')).toEqual({ timeout_s: null, max: 7 });
    expect(parseKeepAlive('timeout=-1, foo=2')).toBeNull();
    expect(parseKeepAlive('')).toBeNull();
    // Each response has its own hints: a later one without Keep-Alive clears them.
    const skipper = new ResponseSkipper(100);
    skipper.feed(bytes('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(skipper.lastResponse!.keepAlive).toBeNull();
  });
});
