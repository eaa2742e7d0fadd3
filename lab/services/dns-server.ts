// The lab's authoritative DNS server (UDP and TCP) for the lab zones: A and
// AAAA records from the config, NXDOMAIN for other names in a zone, REFUSED
// outside the zones. A CDN's names can answer each asking network
// differently (`bySource`). It never recurses: nothing leaves the lab.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { buildResponse, DnsWireError, parseMessage, QTYPE, type DnsMessage } from './dns-wire.js';
import { isMain, log, runService, type Running } from './main.js';

export interface DnsServerConfig {
  listen: string[];
  port: number;
  /** Zones served, e.g. ["test"]. */
  zones: string[];
  /** name -> addresses (IPv4 answer A queries, IPv6 answer AAAA queries). */
  records: Record<string, string[]>;
  /** Answers for queries from a source range (first match wins), over `records`: a CDN's per-resolver answers. */
  bySource?: Array<{ from: string; records: Record<string, string[]> }>;
  /** An ISP's NXDOMAIN rewriting: a name with no record, in the zones or outside them, gets this IPv4 address. */
  rewriteNxdomain?: string;
}

function inV4Range(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const value = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && Math.floor(value(ip) / size) === Math.floor(value(net) / size);
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5 } as const;

export function answer(config: DnsServerConfig, query: DnsMessage, source = ''): Buffer | null {
  if (query.qr) return null; // never answer answers
  const q = query.questions[0];
  if (!q || query.opcode !== 0) return buildResponse(query, RCODE.FORMERR, []);
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const inZone = config.zones.some((z) => name === z || name.endsWith(`.${z}`));
  if (config.rewriteNxdomain && !config.records[name]) {
    return buildResponse(query, RCODE.NOERROR, q.type === QTYPE.A || q.type === QTYPE.ANY ? [config.rewriteNxdomain] : []);
  }
  if (!inZone) return buildResponse(query, RCODE.REFUSED, []);
  const override = config.bySource?.find((b) => inV4Range(source.replace(/^::ffff:/, ''), b.from) && b.records[name]);
  const addrs = override ? override.records[name] : config.records[name];
  if (!addrs) return buildResponse(query, RCODE.NXDOMAIN, []);
  const v4 = addrs.filter((a) => !a.includes(':'));
  const v6 = addrs.filter((a) => a.includes(':'));
  if (q.type === QTYPE.AAAA) return buildResponse(query, RCODE.NOERROR, v6);
  const wantsA = q.type === QTYPE.A || q.type === QTYPE.ANY;
  return buildResponse(query, RCODE.NOERROR, wantsA ? [...(q.type === QTYPE.ANY ? v6 : []), ...v4] : []);
}

function serveUdp(config: DnsServerConfig, host: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      try {
        const reply = answer(config, parseMessage(msg), rinfo.address);
        if (reply) sock.send(reply, rinfo.port, rinfo.address);
      } catch (err) {
        if (!(err instanceof DnsWireError)) throw err;
      }
    });
    sock.once('error', reject);
    sock.bind(config.port, host, () => resolve(sock));
  });
}

function handleTcp(config: DnsServerConfig, conn: Socket): void {
  let buf = Buffer.alloc(0);
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      try {
        const reply = answer(config, parseMessage(msg), conn.remoteAddress ?? '');
        if (reply) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          conn.write(Buffer.concat([prefix, reply]));
        }
      } catch (err) {
        if (!(err instanceof DnsWireError)) throw err;
        conn.destroy();
        return;
      }
    }
  });
}

function serveTcp(config: DnsServerConfig, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((conn) => handleTcp(config, conn));
    server.once('error', reject);
    server.listen(config.port, host, () => resolve(server));
  });
}

export async function startDnsServer(config: DnsServerConfig): Promise<Running> {
  const udp = await Promise.all(config.listen.map((h) => serveUdp(config, h)));
  const tcp = await Promise.all(config.listen.map((h) => serveTcp(config, h)));
  log('dns-server', `serving ${Object.keys(config.records).length} names on ${config.listen.join(', ')}:${config.port}`);
  return {
    close() {
      udp.forEach((s) => s.close());
      tcp.forEach((s) => s.close());
    },
  };
}

if (isMain(import.meta.url)) runService('dns-server', startDnsServer);
