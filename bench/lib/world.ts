// The sweep bench's world: N web targets named t<i>.bench.test, a DNS
// server that answers for them, and one HTTP server that serves them all.
// Every DNS answer and every HTTP response is held back by the same fixed
// latency (a userspace delay: this kernel has no netem), so the critical
// path of one target is known: about one latency for DNS and one for HTTP.
// Target i lives at its own loopback address 127.x.y.z, as distinct hosts
// would, and all of 127/8 reaches the one listener.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeMessage, RCODE, RR_TYPE, type DnsMessage } from '../../probes/dns_codec.js';
import { Delay } from './delay.js';
import { startDnsServer } from './dns-server.js';

/** The zone of the bench's targets. `.test` is reserved (RFC 6761): never a real name. */
export const BENCH_ZONE = 'bench.test';
/** Addresses per third octet, so that no target gets a .0 or .255 address. */
const PER_BLOCK = 254;
export const MAX_TARGETS = PER_BLOCK * 254;

export function targetHost(i: number): string {
  return `t${i}.${BENCH_ZONE}`;
}

/** Target i's address: 127.0.0.1 is left to the servers, targets start at 127.1.1.1. */
export function targetAddress(i: number): string {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_TARGETS) throw new RangeError(`target index ${i} is out of range 0..${MAX_TARGETS - 1}`);
  return `127.1.${1 + Math.floor(i / PER_BLOCK)}.${1 + (i % PER_BLOCK)}`;
}

/** The target index a name stands for, or null when it is not one of the first `targets`. */
export function targetIndex(name: string, targets: number): number | null {
  const m = /^t(0|[1-9][0-9]{0,6})\.bench\.test\.?$/i.exec(name);
  if (!m) return null;
  const i = Number(m[1]);
  return i < targets ? i : null;
}

/** The targets file of a world: one plain-HTTP URL per target, category NEWS. */
export function targetsFile(targets: number): string {
  const lines = ['# rasad sweep bench: generated, one plain-HTTP target per line'];
  for (let i = 0; i < targets; i++) lines.push(`http://${targetHost(i)}/ NEWS`);
  return lines.join('\n') + '\n';
}

export interface WorldOptions {
  targets: number;
  latencyMs: number;
  /** Where the DNS server listens (UDP). In the namespace: 127.0.0.1:53. */
  dnsHost: string;
  dnsPort: number;
  /** Where the HTTP server listens. In the namespace: 0.0.0.0:80, which is every 127/8 address there. */
  httpHost: string;
  httpPort: number;
}

export interface WorldStats {
  /** The DNS socket's receive buffer as the kernel granted it, bytes. */
  dns_receive_buffer: number;
  dns_queries: number;
  dns_answers: number;
  dns_nxdomain: number;
  http_connections: number;
  http_requests: number;
}

export interface World {
  dnsPort: number;
  httpPort: number;
  stats(): WorldStats;
  close(): Promise<void>;
}

/** The reply to one query: A for a target, an empty NOERROR for its other types, NXDOMAIN for any other name. */
export function answerFor(query: DnsMessage, targets: number): { reply: Buffer; kind: 'answer' | 'nodata' | 'nxdomain' } | null {
  const question = query.questions[0];
  if (query.response || question === undefined) return null;
  const i = targetIndex(question.name, targets);
  const base = { id: query.id, recursionDesired: query.recursionDesired, questions: [{ name: question.name, type: question.type }] };
  if (i === null) return { reply: encodeMessage({ ...base, rcode: RCODE.NXDOMAIN }), kind: 'nxdomain' };
  if (question.type !== RR_TYPE.A) return { reply: encodeMessage({ ...base, rcode: RCODE.NOERROR }), kind: 'nodata' };
  return { reply: encodeMessage({ ...base, rcode: RCODE.NOERROR, answers: [{ name: question.name, type: 'A', ttl: 60, data: targetAddress(i) }] }), kind: 'answer' };
}

function page(host: string): string {
  const filler = 'rasad sweep bench target. '.repeat(32);
  return `<!doctype html>\n<html><head><title>bench target ${host}</title></head><body><p>${filler}</p></body></html>\n`;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const stats: WorldStats = { dns_receive_buffer: 0, dns_queries: 0, dns_answers: 0, dns_nxdomain: 0, http_connections: 0, http_requests: 0 };
  const delay = new Delay(options.latencyMs);
  const dns = await startDnsServer({
    host: options.dnsHost,
    port: options.dnsPort,
    delay,
    label: 'bench world',
    onQuery: () => stats.dns_queries++,
    answer(query) {
      const answer = answerFor(query, options.targets);
      if (answer?.kind === 'answer') stats.dns_answers++;
      if (answer?.kind === 'nxdomain') stats.dns_nxdomain++;
      return answer?.reply ?? null;
    },
  });
  stats.dns_receive_buffer = dns.receiveBuffer;

  const http: Server = createServer((req, res) => {
    stats.http_requests++;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const body = page(host);
    delay.later(() => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
    });
  });
  http.on('connection', () => stats.http_connections++);
  http.maxConnections = 100_000;
  http.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ host: options.httpHost, port: options.httpPort, backlog: 4096 }, () => {
      http.off('error', reject);
      resolve();
    });
  });

  return {
    dnsPort: dns.port,
    httpPort: (http.address() as AddressInfo).port,
    stats: () => ({ ...stats }),
    async close() {
      delay.clear();
      dns.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
