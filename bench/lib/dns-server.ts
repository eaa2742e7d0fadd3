// The benches' DNS server: UDP, each answer held back by a delay. What it
// answers is the world's choice (`answer`); a query that does not decode, or
// whose answer cannot be encoded, is dropped, as a real server would.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { decodeMessage, type DnsMessage } from '../../probes/dns_codec.js';
import type { Delay } from './delay.js';

// A sweep's first burst is a few queries per unit in flight at once: the
// default 208 KiB receive buffer drops some, and a dropped query costs the
// probe a whole timeout. The kernel caps this at net.core.rmem_max.
const DNS_RECEIVE_BUFFER = 4 * 1024 * 1024;

export interface DnsServerOptions {
  host: string;
  port: number;
  delay: Delay;
  /** The reply to a query, or null to drop it. */
  answer(query: DnsMessage): Buffer | null;
  /** Called for every datagram received, before it is decoded. */
  onQuery?(): void;
  /** Names the server in its error lines. */
  label: string;
}

export interface DnsServer {
  port: number;
  /** The receive buffer as the kernel granted it, bytes. */
  receiveBuffer: number;
  close(): void;
}

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const dns: UdpSocket = createSocket({ type: 'udp4', recvBufferSize: DNS_RECEIVE_BUFFER });
  dns.on('error', (err) => process.stderr.write(`${options.label} dns: ${err.message}\n`));
  dns.on('message', (raw, from) => {
    options.onQuery?.();
    let reply: Buffer | null;
    try {
      reply = options.answer(decodeMessage(raw));
    } catch {
      return; // not DNS, or a name that cannot be echoed back (not printable ASCII)
    }
    if (reply) options.delay.later(() => dns.send(reply, from.port, from.address));
  });
  await new Promise<void>((resolve, reject) => {
    dns.once('error', reject);
    dns.bind(options.port, options.host, () => {
      dns.off('error', reject);
      resolve();
    });
  });
  return { port: dns.address().port, receiveBuffer: dns.getRecvBufferSize(), close: () => dns.close() };
}
