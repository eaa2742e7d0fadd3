// Iran's HTTP blockpage (net4people/bbs #226; OONI's ooni.ir_0..3 facts): an injected 403 with Connection: close and
// an iframe to 10.10.34.36. This server answers it on the blockpage addresses,
// where DNS-injected clients land; the HTTP middlebox injects the same bytes.
import { STATUS_CODES } from 'node:http';
import { createServer, type Server } from 'node:net';
import { isMain, log, runService, type Running } from './main.js';

export const IRAN_BLOCKPAGE_BODY =
  '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256"><title>M1-6</title></head>' +
  '<body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy" style="width: 100%; height: 100%" ' +
  'scrolling="no" marginwidth="0" marginheight="0" frameborder="0" vspace="0" hspace="0"></iframe></body></html>\r\n';

/** Iran's injected status (net4people/bbs #226). */
export const IRAN_BLOCKPAGE_STATUS = 403;

/**
 * The whole injected response: no Content-Length, the end of the body is the
 * close. Another status (with another body) makes a page that is not Iran's,
 * for the http.diff scenario.
 */
export function blockpageResponse(body: string = IRAN_BLOCKPAGE_BODY, status: number = IRAN_BLOCKPAGE_STATUS): string {
  const reason = STATUS_CODES[status] ?? 'Unknown';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n${body}`;
}

export interface BlockpageConfig {
  ips: string[];
  port: number;
  body?: string;
}

export async function startBlockpage(config: BlockpageConfig): Promise<Running> {
  const response = blockpageResponse(config.body);
  const servers: Server[] = [];
  for (const ip of config.ips) {
    const server = createServer((conn) => {
      conn.on('error', () => conn.destroy());
      // Answer once the request's head has arrived, whatever it asks for.
      let head = '';
      conn.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n') || head.length > 16 * 1024) {
          conn.removeAllListeners('data');
          conn.end(response);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, ip, () => resolve());
    });
    servers.push(server);
  }
  log('blockpage', `serving the blockpage on ${config.ips.join(', ')} port ${config.port}`);
  return { close: () => servers.forEach((s) => s.close()) };
}

if (isMain(import.meta.url)) runService('blockpage', startBlockpage);
