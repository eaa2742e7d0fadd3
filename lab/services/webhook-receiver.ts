// A webhook receiver for the alert lab test: listens on 127.0.0.1:<port> in
// the namespace it is started in, and appends each POST body, as one JSON
// line, to <outfile>. Anything but a POST gets 405 and is not recorded.
//   ip netns exec client node --import tsx lab/services/webhook-receiver.ts <port> <outfile>
import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isMain, log } from './main.js';

/** Bodies larger than this are cut off: rasad's alerts are a few KiB. */
const MAX_BODY_BYTES = 1024 * 1024;

/** One received POST as the line written for it: the body when it is JSON, else the raw text under `unparseable`. */
export function receivedLine(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body));
  } catch {
    return JSON.stringify({ unparseable: body.slice(0, 2000) });
  }
}

export function startReceiver(port: number, outFile: string, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      // Appended before the answer: once rasad sees 200, the alert is in the file.
      appendFileSync(outFile, `${receivedLine(Buffer.concat(chunks).toString('utf8'))}\n`);
      log('webhook-receiver', `POST ${req.url} (${size} bytes, event ${String(req.headers['x-rasad-event-id'] ?? '-')})`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    });
    req.on('error', () => res.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (isMain(import.meta.url)) {
  const [portText, outFile] = process.argv.slice(2);
  const port = Number(portText);
  if (!outFile || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write('usage: node --import tsx lab/services/webhook-receiver.ts <port> <outfile>\n');
    process.exit(2);
  }
  startReceiver(port, outFile).then(
    (server) => {
      // The harness waits for this line in the log.
      log('webhook-receiver', 'ready');
      const stop = () => {
        server.close(() => process.exit(0));
        server.closeAllConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: Error) => {
      process.stderr.write(`webhook-receiver: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
      process.exit(1);
    },
  );
}
