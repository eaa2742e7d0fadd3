// The censor's userspace TCP middleboxes. iptables DNATs the client's flows
// to one protected destination onto one listener here, so each listener
// knows where to forward. The upstream is connected first; if it fails the
// client is reset, as the real destination would have done.
//   cut              RST both sides N s after the flow started (Iran 2013)
//   http-filter      the first request's Host is listed: answer the blockpage
//   protocol-filter  the first packets look like no HTTP/TLS/DNS: drop the
//                    client's later packets (Iran 2020)
import { connect, createServer, type Server, type Socket } from 'node:net';
import { blockpageResponse } from './blockpage.js';
import { isMain, log, runService, type Running } from './main.js';
import { isAllowedProtocol } from './protocol-classifier.js';

export type MiddleboxKind = 'cut' | 'http-filter' | 'protocol-filter';

export interface MiddleboxListener {
  kind: MiddleboxKind;
  listenHost: string;
  listenPort: number;
  upstreamHost: string;
  upstreamPort: number;
  /** cut: the flow's age at which both sides are reset. */
  cutAfterMs?: number;
  /** http-filter: Host names (lower case, no port) that get the blockpage. */
  blockHosts?: string[];
  /** http-filter: the blockpage body (default: Iran's). */
  body?: string;
  /** http-filter: the blockpage status (default: Iran's 403). */
  status?: number;
  /** protocol-filter: how many client data packets are read before judging (Bock et al., FOCI 2020: 2). */
  inspectPackets?: number;
}

export interface MiddleboxConfig {
  listeners: MiddleboxListener[];
}

const UPSTREAM_CONNECT_TIMEOUT_MS = 5_000;
const MAX_REQUEST_HEAD = 16 * 1024;

function reset(sock: Socket): void {
  if (!sock.destroyed) sock.resetAndDestroy();
}

function connectUpstream(l: MiddleboxListener): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const up = connect({ host: l.upstreamHost, port: l.upstreamPort });
    const timer = setTimeout(() => {
      up.destroy();
      reject(new Error('upstream connect timeout'));
    }, UPSTREAM_CONNECT_TIMEOUT_MS);
    up.once('connect', () => {
      clearTimeout(timer);
      resolve(up);
    });
    up.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Either side failing or closing ends the other, as a TCP proxy should. */
function joinErrors(client: Socket, up: Socket): void {
  client.on('error', () => reset(up));
  up.on('error', () => reset(client));
  client.on('close', () => up.destroy());
  up.on('close', () => client.destroy());
}

function runCut(l: MiddleboxListener, client: Socket, up: Socket, startedAt: number): void {
  const cutAfterMs = l.cutAfterMs ?? 60_000;
  const timer = setTimeout(() => {
    log('middlebox', `cut ${client.remoteAddress}:${client.remotePort} -> ${l.upstreamHost}:${l.upstreamPort} after ${Date.now() - startedAt} ms`);
    reset(client);
    reset(up);
  }, Math.max(0, cutAfterMs - (Date.now() - startedAt)));
  client.on('close', () => clearTimeout(timer));
  client.pipe(up);
  up.pipe(client);
}

export function requestHost(head: string): string | null {
  const match = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(head);
  if (!match) return null;
  return match[1]!.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

function runHttpFilter(l: MiddleboxListener, client: Socket, up: Socket): void {
  const blocked = new Set((l.blockHosts ?? []).map((h) => h.toLowerCase()));
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    if (!text.includes('\r\n\r\n') && head.length < MAX_REQUEST_HEAD) return;
    client.off('data', onData);
    const host = requestHost(text);
    if (host !== null && blocked.has(host)) {
      log('middlebox', `blockpage for Host ${host} from ${client.remoteAddress}`);
      up.destroy();
      client.end(blockpageResponse(l.body, l.status));
      return;
    }
    up.write(head);
    client.pipe(up);
  };
  client.on('data', onData);
  up.pipe(client);
}

function runProtocolFilter(l: MiddleboxListener, client: Socket, up: Socket): void {
  const inspect = l.inspectPackets ?? 2;
  let seen = 0;
  let state: 'inspecting' | 'allowed' | 'dropping' = 'inspecting';
  client.on('data', (chunk: Buffer) => {
    if (state === 'dropping') return;
    if (state === 'inspecting') {
      seen++;
      if (isAllowedProtocol(chunk)) state = 'allowed';
      else if (seen >= inspect) {
        state = 'dropping';
        log('middlebox', `protocol filter: dropping later packets of ${client.remoteAddress}:${client.remotePort} -> ${l.upstreamHost}:${l.upstreamPort}`);
      }
    }
    // The packets it inspects still pass; only the later ones are dropped.
    up.write(chunk);
  });
  client.on('end', () => up.end());
  up.pipe(client);
}

function handle(l: MiddleboxListener, client: Socket): void {
  const startedAt = Date.now();
  client.pause();
  client.on('error', () => undefined);
  connectUpstream(l).then(
    (up) => {
      if (client.destroyed) {
        up.destroy();
        return;
      }
      joinErrors(client, up);
      if (l.kind === 'cut') runCut(l, client, up, startedAt);
      else if (l.kind === 'http-filter') runHttpFilter(l, client, up);
      else runProtocolFilter(l, client, up);
      client.resume();
    },
    () => reset(client),
  );
}

export async function startMiddlebox(config: MiddleboxConfig): Promise<Running> {
  const servers: Server[] = [];
  for (const l of config.listeners) {
    const server = createServer({ pauseOnConnect: true }, (client) => handle(l, client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.listenPort, l.listenHost, () => resolve());
    });
    servers.push(server);
    log('middlebox', `${l.kind} ${l.listenHost}:${l.listenPort} -> ${l.upstreamHost}:${l.upstreamPort}`);
  }
  return { close: () => servers.forEach((s) => s.close()) };
}

if (isMain(import.meta.url)) runService('middlebox', startMiddlebox);
