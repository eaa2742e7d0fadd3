// Ordinary server habits, one site each (lab/addresses.ts HABIT_SITES): the
// things real servers do that a careless analysis reads as censorship.
//   cdn             answers on two addresses (the DNS server gives the probe's resolver one and the
//                   control's the other) and localises its page by the client's address
//   redirect-https  http:// answers 301 to https://
//   h2-only         HTTPS speaks only h2 (ALPN h2, no HTTP/1.1); port 80 is ordinary
//   redirect-loop   / -> /hop/1 -> ... -> /hop/12 -> the page: more hops than a client follows
//   redirect-to     /http/<host> and /https/<host> answer 302 to that host's /
//   slow            answers after 3 s (/delay/<ms> for another delay)
//   sanctions       403 "not available in your country", to everyone, over valid TLS
//   keepalive-3s    closes idle keep-alive connections after 3 s on 80 and 443 (Keep-Alive: timeout=3)
//   tls-front-3s    HTTPS closes idle connections after 3 s gracefully (close_notify, then FIN);
//                   plain HTTP keeps them for 300 s
//   silent-on-junk  80 and 443 answer HTTP and TLS, and stay silent on anything else
//   v6-first        an ordinary site whose name has an AAAA record before its A record
//   filtering-news  a news article about filtering that quotes Iran's blockpage
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Habit } from '../addresses.js';
import { isMain, log, runService, type Running } from './main.js';

export interface HabitSite {
  name: string;
  ip: string;
  title: string;
  habit: Habit;
  /** More addresses the same server answers on (the CDN's second face). */
  extraIps?: string[];
}

export interface HabitsConfig {
  sites: HabitSite[];
  certFile: string;
  keyFile: string;
  /** The probe's network: the CDN localises its page for clients from here. */
  probeRange: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const REDIRECT_LOOP_HOPS = 12;
const SLOW_DEFAULT_MS = 3000;
const KEEPALIVE_IDLE_MS = 3000;
const LONG_KEEPALIVE_MS = 300_000;

function page(title: string, paragraphs: string[]): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}\n</body></html>\n`;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function redirect(res: ServerResponse, status: number, location: string): void {
  send(res, status, page('Moved', [`The document has moved <a href="${location}">here</a>.`]), { location });
}

function inV4Range(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const value = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && Math.floor(value(ip) / size) === Math.floor(value(net) / size);
}

/** A localised page: the same title, other text and length, and another edge header, per client network. */
function cdnPage(site: HabitSite, local: boolean): { body: string; headers: Record<string, string> } {
  const paragraphs = local
    ? Array.from({ length: 5 }, (_, i) => `ویدیوهای پرطرفدار امروز، بخش ${i + 1}: محتوای ویژه برای بینندگان فارسی‌زبان.`)
    : Array.from({ length: 12 }, (_, i) => `Trending today, shelf ${i + 1}: recommended videos for viewers in your region, updated hourly.`);
  return { body: page(site.title, paragraphs), headers: { 'x-served-by': local ? 'cache-ika-edge' : 'cache-fra-edge', 'content-language': local ? 'fa' : 'en' } };
}

const SANCTIONS_BODY = page('Access restricted', [
  'This service is not available in your country.',
  'Due to U.S. trade controls law restrictions, access to this service from your location is not permitted.',
  'If you believe this is an error, contact support with the reference code below.',
]);

const FILTERING_NEWS_BODY = page('Filtering Watch Report', [
  'How the national filter answers: when a user asks for a blocked site, the reply is an HTTP 403 page that embeds',
  'an iframe: <code>&lt;iframe src="http://10.10.34.34?type=Invalid Site&amp;policy=MainPolicy"&gt;</code>,',
  'which loads the portal at peyvandha.ir/1-2.html listing "useful links". Readers sent us 40 screenshots of it this month.',
  'Researchers quote the snippet iframe src="http://10.10.34.36 in their reports; it is the signature of the filter.',
]);

function handlerFor(site: HabitSite, config: HabitsConfig, scheme: 'http' | 'https'): Handler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const home = () => send(res, 200, page(site.title, [`${site.name} over ${scheme}: an ordinary page.`]));
    switch (site.habit) {
      case 'cdn': {
        const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
        const { body, headers } = cdnPage(site, inV4Range(remote, config.probeRange));
        send(res, 200, body, headers);
        return;
      }
      case 'redirect-https':
        if (scheme === 'http') redirect(res, 301, `https://${site.name}${path}`);
        else home();
        return;
      case 'redirect-loop': {
        const hop = path === '/' ? 0 : Number(/^\/hop\/(\d+)$/.exec(path)?.[1] ?? NaN);
        if (!Number.isInteger(hop)) return send(res, 404, page('Not found', ['no such hop']));
        if (hop < REDIRECT_LOOP_HOPS) redirect(res, 302, `${scheme}://${site.name}/hop/${hop + 1}`);
        else home();
        return;
      }
      case 'redirect-to': {
        const m = /^\/(https?)\/([a-z0-9.-]+)$/i.exec(path);
        if (m) redirect(res, 302, `${m[1]!.toLowerCase()}://${m[2]!.toLowerCase()}/`);
        else home();
        return;
      }
      case 'slow': {
        const ms = Number(/^\/delay\/(\d+)$/.exec(path)?.[1] ?? SLOW_DEFAULT_MS);
        const timer = setTimeout(home, Math.min(ms, 120_000));
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'sanctions':
        send(res, 403, SANCTIONS_BODY);
        return;
      case 'filtering-news':
        send(res, 200, FILTERING_NEWS_BODY);
        return;
      default:
        home();
    }
  };
}

function listen(server: Server | TcpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** HTTPS that ends an idle connection gracefully: close_notify then FIN (socket.end()), 3 s after its last response. */
function closeIdleGracefully(server: Server): void {
  const idle = new WeakMap<Socket, { arm(): void; stop(): void }>();
  server.on('secureConnection', (socket: Socket) => {
    let timer: NodeJS.Timeout | null = null;
    const stop = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    const arm = () => {
      stop();
      timer = setTimeout(() => socket.end(), KEEPALIVE_IDLE_MS);
    };
    idle.set(socket, { arm, stop });
    socket.on('close', stop);
    arm();
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const timer = idle.get(req.socket);
    timer?.stop();
    res.on('finish', () => timer?.arm());
  });
}

/** Port 80/443 for the silent-on-junk server: HTTP and TLS are answered, any other first bytes get silence. */
function silentOnJunk(https: Server, port: number): TcpServer {
  return createTcpServer({ pauseOnConnect: false }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      const text = first.toString('latin1', 0, 8);
      if (/^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT) /.test(text)) {
        // Answered here, not by http.Server: its parser reads the socket's handle and would miss the bytes read so far.
        let head = first.toString('latin1');
        const answer = () => {
          const body = page('Server Silent On Junk', ['An ordinary page; junk gets silence.']);
          socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        };
        if (head.includes('\r\n\r\n')) answer();
        else socket.on('data', (more: Buffer) => {
          head += more.toString('latin1');
          if (head.includes('\r\n\r\n')) answer();
        });
      } else if (port === 443 && first[0] === 0x16 && first[1] === 0x03) {
        socket.pause();
        socket.unshift(first);
        https.emit('connection', socket);
      } else {
        // Read and ignore everything, answer nothing; the client gives up first.
        socket.on('data', () => undefined);
        socket.setTimeout(120_000, () => socket.destroy());
      }
    });
  });
}

export async function startHabits(config: HabitsConfig): Promise<Running> {
  const tls = { cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) };
  const closers: Array<() => void> = [];
  const track = (server: Server | TcpServer) => closers.push(() => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    server.close();
  });
  for (const site of config.sites) {
    for (const ip of [site.ip, ...(site.extraIps ?? [])]) {
      const http = createHttpServer(handlerFor(site, config, 'http'));
      const https = createHttpsServer(tls, handlerFor(site, config, 'https'));
      const short = site.habit === 'keepalive-3s';
      http.keepAliveTimeout = short ? KEEPALIVE_IDLE_MS : LONG_KEEPALIVE_MS;
      https.keepAliveTimeout = short ? KEEPALIVE_IDLE_MS : site.habit === 'tls-front-3s' ? LONG_KEEPALIVE_MS + 1000 : LONG_KEEPALIVE_MS;
      for (const s of [http, https]) {
        s.headersTimeout = s.keepAliveTimeout + 10_000;
        s.requestTimeout = 0;
      }
      if (site.habit === 'tls-front-3s') closeIdleGracefully(https);
      if (site.habit === 'silent-on-junk') {
        for (const port of [80, 443]) {
          const front = silentOnJunk(https, port);
          await listen(front, port, ip);
          track(front);
        }
        track(http);
        track(https);
        continue;
      }
      await listen(http, 80, ip);
      track(http);
      if (site.habit === 'h2-only') {
        const h2 = createSecureServer({ ...tls, allowHTTP1: false }, (req, res) => {
          const body = page(site.title, [`${site.name}: served over HTTP/2 only.`]);
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
          res.end(body);
        });
        await listen(h2 as unknown as Server, 443, ip);
        closers.push(() => h2.close());
      } else {
        await listen(https, 443, ip);
        track(https);
      }
    }
  }
  log('habits', `serving ${config.sites.map((s) => `${s.name} (${s.habit})`).join(', ')}`);
  return { close: () => closers.forEach((c) => c()) };
}

if (isMain(import.meta.url)) runService('habits', startHabits);
