// HTTP/1.1 response framing, just enough to know where a response ends so
// the next request can go out on the same connection, and what the server
// said about the connection's future (`Connection: close`, `Keep-Alive:
// timeout=N, max=M`). Used by tls_duration's keep-alive sessions.
//
// Bytes are counted and dropped; only the current header line is held, and
// it is bounded: hundreds of sessions run at once for minutes.

const MAX_LINE_BYTES = 8 * 1024;
const MAX_HEAD_BYTES = 32 * 1024;

export class ResponseFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseFramingError';
  }
}

/** The server's `Keep-Alive` header: how long it keeps an idle connection, and for how many requests. */
export interface KeepAliveHint {
  timeout_s: number | null;
  max: number | null;
}

/** What the last complete response said about the connection. */
export interface ConnectionHints {
  status: number;
  /** `Connection: close`, or HTTP/1.0 without `Connection: keep-alive`: the server will close after it. */
  close: boolean;
  keepAlive: KeepAliveHint | null;
}

/** `timeout=5, max=100` → its numbers; null when neither is there. */
export function parseKeepAlive(value: string): KeepAliveHint | null {
  let timeout: number | null = null;
  let max: number | null = null;
  for (const part of value.split(',')) {
    const m = /^\s*(timeout|max)\s*=\s*"?(\d{1,9})"?\s*$/i.exec(part);
    if (!m) continue;
    if (m[1]!.toLowerCase() === 'timeout') timeout = Number(m[2]);
    else max = Number(m[2]);
  }
  return timeout === null && max === null ? null : { timeout_s: timeout, max };
}

type FramingState = 'status' | 'headers' | 'body' | 'chunk_size' | 'chunk_data' | 'chunk_end' | 'trailers' | 'until_close';

export class ResponseSkipper {
  private state: FramingState = 'status';
  private line = '';
  private headBytes = 0;
  private status = 0;
  private http10 = false;
  private contentLength: number | null = null;
  private chunked = false;
  private connectionTokens = '';
  private keepAlive: KeepAliveHint | null = null;
  private remaining = 0;
  private bodyBytes = 0;
  /** What the last complete response said; null before the first. */
  lastResponse: ConnectionHints | null = null;

  constructor(private readonly bodyLimit: number) {}

  /** true while a response with no length is being read: its end is the server's close. */
  get readingUntilClose(): boolean {
    return this.state === 'until_close';
  }

  /** The hints of the response being read until the close (its head is complete). */
  get currentHints(): ConnectionHints {
    return this.hints();
  }

  /** Feeds bytes; returns how many responses they completed. Throws ResponseFramingError on a malformed response. */
  feed(chunk: Buffer): number {
    let completed = 0;
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'body':
        case 'chunk_data': {
          const take = Math.min(this.remaining, chunk.length - pos);
          pos += take;
          this.remaining -= take;
          this.countBody(take);
          if (this.remaining === 0) {
            if (this.state === 'body') {
              completed++;
              this.complete();
            } else {
              this.state = 'chunk_end';
            }
          }
          break;
        }
        case 'until_close':
          this.countBody(chunk.length - pos);
          pos = chunk.length;
          break;
        default: {
          const lf = chunk.indexOf(10, pos);
          const end = lf === -1 ? chunk.length : lf;
          this.appendLine(chunk, pos, end);
          pos = end;
          if (lf !== -1) {
            pos++;
            const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
            this.line = '';
            if (this.onLine(line)) {
              completed++;
              this.complete();
            }
          }
        }
      }
    }
    return completed;
  }

  private appendLine(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    const inHead = this.state === 'status' || this.state === 'headers';
    if (inHead) {
      this.headBytes += end - start;
      if (this.headBytes > MAX_HEAD_BYTES) throw new ResponseFramingError('response head too large');
    }
    if (this.line.length + (end - start) > MAX_LINE_BYTES) throw new ResponseFramingError('response line too long');
    this.line += chunk.toString('latin1', start, end);
  }

  private countBody(n: number): void {
    this.bodyBytes += n;
    if (this.bodyBytes > this.bodyLimit) throw new ResponseFramingError('response body over the read limit');
  }

  private hints(): ConnectionHints {
    const tokens = this.connectionTokens;
    const close = /(^|,)\s*close\s*(,|$)/i.test(tokens) || (this.http10 && !/(^|,)\s*keep-alive\s*(,|$)/i.test(tokens));
    return { status: this.status, close, keepAlive: this.keepAlive };
  }

  private complete(): void {
    this.lastResponse = this.hints();
    this.reset();
  }

  private reset(): void {
    this.state = 'status';
    this.headBytes = 0;
    this.status = 0;
    this.http10 = false;
    this.contentLength = null;
    this.chunked = false;
    this.connectionTokens = '';
    this.keepAlive = null;
    this.remaining = 0;
    this.bodyBytes = 0;
  }

  /** Handles one complete line; returns true when it completed a response. */
  private onLine(line: string): boolean {
    switch (this.state) {
      case 'status': {
        if (line === '') return false; // tolerate a stray CRLF between responses
        const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(line);
        if (!match) throw new ResponseFramingError('malformed status line');
        this.http10 = match[1] === '0';
        this.status = Number(match[2]);
        this.state = 'headers';
        return false;
      }
      case 'headers':
        if (line !== '') {
          this.onHeader(line);
          return false;
        }
        return this.onHeadEnd();
      case 'chunk_size': {
        const size = /^([0-9a-fA-F]{1,8})(?:[ \t;].*)?$/.exec(line);
        if (!size) throw new ResponseFramingError('malformed chunk size');
        this.remaining = parseInt(size[1]!, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunk_data';
        return false;
      }
      case 'chunk_end':
        if (line !== '') throw new ResponseFramingError('missing CRLF after chunk');
        this.state = 'chunk_size';
        return false;
      case 'trailers':
        return line === '';
      default:
        return false;
    }
  }

  private onHeader(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseFramingError('malformed header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new ResponseFramingError('malformed Content-Length');
      const length = Number(value);
      if (this.contentLength !== null && this.contentLength !== length) throw new ResponseFramingError('conflicting Content-Length');
      this.contentLength = length;
    } else if (name === 'transfer-encoding' && /(^|,)\s*chunked\s*$/i.test(value)) {
      this.chunked = true;
    } else if (name === 'connection') {
      // Bounded by the line limit; several Connection headers are one list.
      this.connectionTokens = this.connectionTokens ? `${this.connectionTokens},${value}` : value;
    } else if (name === 'keep-alive') {
      this.keepAlive = parseKeepAlive(value) ?? this.keepAlive;
    }
  }

  /** The blank line after the headers: decides how the body is framed. */
  private onHeadEnd(): boolean {
    if (this.status >= 100 && this.status < 200 && this.status !== 101) {
      this.reset(); // an interim response (100 Continue, 103 Early Hints): the real one follows
      return false;
    }
    if (this.status === 204 || this.status === 304) return true;
    if (this.chunked) {
      this.state = 'chunk_size';
      return false;
    }
    if (this.contentLength !== null) {
      if (this.contentLength === 0) return true;
      if (this.contentLength > this.bodyLimit) throw new ResponseFramingError('response body over the read limit');
      this.remaining = this.contentLength;
      this.state = 'body';
      return false;
    }
    // No framing: the body runs until the server closes, which ends the connection.
    this.state = 'until_close';
    return false;
  }
}
