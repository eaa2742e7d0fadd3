// Mounts the long-lived control endpoint on the control helper's server:
// `longControlRoute(opts)` returns a route that answers POST /rasad/v1/long
// and leaves every other request to the helper. It has its own cap on the
// sessions held at once (they last minutes, unlike a Web Connectivity
// request): more are answered 503 at once, so a probe tries another helper.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { scrubIps } from '../../../probes/failure.js';
import { readBody } from '../read_body.js';
import { HelperRequestError } from '../helper_request.js';
import { handleLongControl, requestDeadlineMs, type LongControlOptions } from './handler.js';
import { LONG_CONTROL_PATH, LONG_LIMITS, parseLongRequest } from './request.js';

export interface LongRouteOptions extends LongControlOptions {
  /** Long-lived measurements held at once; more are answered 503. Default 512. */
  maxLongSessions?: number;
  /** Time for a request body to arrive in full. Default 5 s. */
  bodyTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_LONG_SESSIONS = 512;

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The route for the helper's server; true when it handled the request. */
export function longControlRoute(opts: LongRouteOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  const maxSessions = Math.max(1, Math.floor(opts.maxLongSessions ?? DEFAULT_MAX_LONG_SESSIONS));
  const bodyTimeoutMs = Math.max(50, opts.bodyTimeoutMs ?? 5_000);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let active = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    active++;
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort(new Error('client went away'));
    });
    try {
      const body = await readBody(req, LONG_LIMITS.maxBodyBytes, bodyTimeoutMs);
      const request = parseLongRequest(body);
      const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(requestDeadlineMs(request, timeoutMs))]);
      reply(res, 200, await handleLongControl(request, opts, signal));
    } catch (err) {
      if (err instanceof HelperRequestError) {
        reply(res, err.status, { error: err.message });
      } else {
        opts.logger?.error({ err: scrubIps(String((err as Error)?.message ?? err)) }, 'long-lived control failed');
        reply(res, 500, { error: 'internal error' });
      }
    } finally {
      active--;
    }
  }

  return (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== LONG_CONTROL_PATH) return false;
    if (req.method !== 'POST') {
      reply(res, 405, { error: 'POST a long-lived control request' }, { allow: 'POST' });
      return true;
    }
    if (active >= maxSessions) {
      req.resume();
      reply(res, 503, { error: 'busy' }, { 'retry-after': '30' });
      return true;
    }
    void handle(req, res);
    return true;
  };
}
