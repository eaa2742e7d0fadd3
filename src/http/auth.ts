// Who may read the dashboard. Bound to loopback, anyone on this machine may
// (as with any local service), but only through a loopback Host name, so a web
// page cannot reach it by DNS rebinding. Bound to anything else, a token is
// required on every route: `Authorization: Bearer <token>`, `?token=`, or the
// cookie the dashboard page sets after a `?token=` visit.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const TOKEN_COOKIE = 'rasad_token';

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The token a request carries, and how. */
export function requestToken(req: IncomingMessage, url: URL): { token: string; via: 'header' | 'query' | 'cookie' } | null {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return { token: auth.replace(/^bearer\s+/i, '').trim(), via: 'header' };
  const query = url.searchParams.get('token');
  if (query) return { token: query, via: 'query' };
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE && rest.length) {
      try {
        return { token: decodeURIComponent(rest.join('=')), via: 'cookie' };
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Constant-time comparison (of digests, so lengths do not leak either). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The Host header's name without its port; null when absent. */
export function hostName(req: IncomingMessage): string | null {
  const host = req.headers.host;
  if (!host) return null;
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '');
}
