// What a probe asks a control helper (ooni/spec ts-017): the request body,
// checked field by field, and the one-line refusals a helper answers with.
import { isIP } from 'node:net';

/** A request that is not one the helper will measure: answered with `status` and a one-line reason. */
export class HelperRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HelperRequestError';
  }
}

export interface ControlRequestBody {
  http_request: string;
  http_request_headers: Record<string, string[]>;
  tcp_connect: string[];
}

export function parseControlRequest(text: string): ControlRequestBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HelperRequestError(400, 'the request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HelperRequestError(400, 'the request is not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.http_request !== 'string') throw new HelperRequestError(400, 'http_request must be a URL string');
  const headers: Record<string, string[]> = {};
  if (v.http_request_headers !== undefined && v.http_request_headers !== null) {
    if (typeof v.http_request_headers !== 'object' || Array.isArray(v.http_request_headers)) throw new HelperRequestError(400, 'http_request_headers must be an object');
    for (const [name, values] of Object.entries(v.http_request_headers as Record<string, unknown>)) {
      if (!Array.isArray(values) || !values.every((x) => typeof x === 'string')) throw new HelperRequestError(400, `http_request_headers["${name.slice(0, 40)}"] must be a list of strings`);
      headers[name] = values as string[];
    }
  }
  const tcp = v.tcp_connect ?? [];
  if (!Array.isArray(tcp) || !tcp.every((x) => typeof x === 'string')) throw new HelperRequestError(400, 'tcp_connect must be a list of "ip:port" strings');
  if (tcp.length > 64) throw new HelperRequestError(400, 'tcp_connect lists more than 64 endpoints');
  return { http_request: v.http_request, http_request_headers: headers, tcp_connect: tcp as string[] };
}

/** "ip:port" / "[v6]:port" → parts, or null for anything else. */
export function parseEndpoint(text: string): { ip: string; port: number } | null {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m || isIP(m[1]!) === 0) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, port } : null;
}

