// A loopback UDP DNS server whose answers a test scripts: answer twice
// (injector first, real server after), NXDOMAIN, SERVFAIL, silence,
// garbage. Each query is decoded with the codec under test's encoder for
// convenience; the handler may send any bytes it likes.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { decodeMessage, encodeMessage, type DnsMessage, type DnsRecordInput } from '../../../probes/dns_codec.js';

export interface DnsQueryContext {
  /** The decoded query, or null when it did not decode. */
  query: DnsMessage | null;
  raw: Buffer;
  from: RemoteInfo;
  /** Sends bytes back to the querier, after `delayMs` if given. */
  reply(bytes: Buffer, delayMs?: number): void;
}

export interface TestDnsServer {
  host: string;
  port: number;
  /** "127.0.0.1:port", for ProbeOptions.resolver. */
  address: string;
  readonly queries: DnsMessage[];
  close(): Promise<void>;
}

export async function udpDnsServer(handler: (ctx: DnsQueryContext) => void, opts: { host?: string; port?: number } = {}): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  const queries: DnsMessage[] = [];
  let closed = false;
  socket.on('error', () => {});
  socket.on('message', (raw, from) => {
    let query: DnsMessage | null = null;
    try {
      query = decodeMessage(raw);
      queries.push(query);
    } catch {
      query = null;
    }
    const reply = (bytes: Buffer, delayMs = 0) => {
      const send = () => {
        if (!closed) socket.send(bytes, from.port, from.address);
      };
      if (delayMs <= 0) return send();
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, delayMs);
      timers.add(t);
    };
    handler({ query, raw, from, reply });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = socket.address();
  return {
    host: address,
    port,
    address: `${address}:${port}`,
    queries,
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** A response to `query` with these answers and rcode (question copied, ID matched). */
export function answer(query: DnsMessage, answers: DnsRecordInput[], rcode = 0, extra: { id?: number; truncated?: boolean } = {}): Buffer {
  return encodeMessage({
    id: extra.id ?? query.id,
    rcode,
    truncated: extra.truncated,
    questions: query.questions.map((q) => ({ name: q.name, type: q.type, class: q.class })),
    answers,
  });
}

/** The A or AAAA record for the query's name, whichever type it asked, from the addresses given. */
export function addressAnswer(query: DnsMessage, v4: string | null, v6: string | null): DnsRecordInput[] {
  const q = query.questions[0];
  if (!q) return [];
  if (q.type === 1 && v4) return [{ name: q.name, type: 'A', data: v4, ttl: 60 }];
  if (q.type === 28 && v6) return [{ name: q.name, type: 'AAAA', data: v6, ttl: 60 }];
  return [];
}
