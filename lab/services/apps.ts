// The messaging apps' stand-in servers in world (lab/apps.ts):
//   - Telegram's data centres: plain HTTP on 80 and on 443 (the app's HTTP
//     transport speaks plain HTTP on both), answering any request with 404
//     as a real data centre answers a bare POST;
//   - WhatsApp's chat port (5222): accepts and says nothing, as an XMPP-like
//     server waits for the client (443 is the plain site's);
//   - Signal's service hosts: HTTPS with a certificate from the lab's own
//     "Signal" CA, answering 200 with a small JSON body.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { isMain, log, runService, type Running } from './main.js';

export interface AppsConfig {
  telegram: { ips: string[]; ports: number[] };
  whatsapp: { ips: string[]; ports: number[] };
  signal: { ips: string[]; port: number; certFile: string; keyFile: string };
}

/** How long a silent chat connection is kept before the server lets go. */
const CHAT_IDLE_MS = 30_000;

function telegramDc(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' }).end('404 Not Found\n');
}

function signalHost(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"service":"lab signal"}\n');
}

function chat(socket: Socket): void {
  socket.setTimeout(CHAT_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.resume();
}

function listen<S extends HttpServer | TcpServer>(server: S, port: number, host: string): Promise<S> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export async function startApps(config: AppsConfig): Promise<Running> {
  const servers: (HttpServer | TcpServer)[] = [];
  const sockets = new Set<Socket>();
  const track = (server: HttpServer | TcpServer) => {
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    return server;
  };
  for (const ip of config.telegram.ips) {
    for (const port of config.telegram.ports) servers.push(await listen(track(createHttpServer(telegramDc)), port, ip));
  }
  for (const ip of config.whatsapp.ips) {
    for (const port of config.whatsapp.ports) servers.push(await listen(track(createTcpServer(chat)), port, ip));
  }
  const tls = { cert: readFileSync(config.signal.certFile), key: readFileSync(config.signal.keyFile) };
  for (const ip of config.signal.ips) servers.push(await listen(track(createHttpsServer(tls, signalHost)), config.signal.port, ip));
  log('apps', `telegram ${config.telegram.ips.join(', ')}:${config.telegram.ports.join('+')}, whatsapp ${config.whatsapp.ips.join(', ')}:${config.whatsapp.ports.join('+')}, signal ${config.signal.ips.join(', ')}:${config.signal.port}`);
  return {
    close() {
      for (const s of sockets) s.destroy();
      for (const s of servers) s.close();
    },
  };
}

if (isMain(import.meta.url)) runService('apps', startApps);
