// Sends one DNS query over UDP and prints, as JSON, every answer that arrives
// until `listenMs` after the first one (dig stops at the first: an on-path
// injector's answer and the real one both show here).
// usage: node --import tsx lab/tools/dns-race.ts <resolver-ip> <name> [listenMs=1000] [timeoutMs=3000]
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { buildQuery, parseMessage, rcodeName } from '../services/dns-wire.js';

export interface RaceAnswer {
  t_ms: number;
  from: string;
  rcode: string;
  addresses: string[];
}

const [server, name, listenArg, timeoutArg] = process.argv.slice(2);
if (!server || !isIPv4(server) || !name) {
  process.stderr.write('usage: dns-race.ts <resolver-ip> <name> [listenMs] [timeoutMs]\n');
  process.exit(2);
}
const listenMs = Number(listenArg ?? 1000);
const timeoutMs = Number(timeoutArg ?? 3000);
const sock = createSocket('udp4');
const id = Math.floor(Math.random() * 0xffff);
const answers: RaceAnswer[] = [];
const started = performance.now();
const finish = () => {
  sock.close();
  process.stdout.write(`${JSON.stringify({ server, name, answers })}\n`);
};
let timer = setTimeout(finish, timeoutMs);
sock.on('message', (msg, rinfo) => {
  try {
    const m = parseMessage(msg);
    if (m.id !== id || !m.qr) return;
    answers.push({ t_ms: Math.round(performance.now() - started), from: rinfo.address, rcode: rcodeName(m.rcode), addresses: m.answers.map((a) => a.data) });
    if (answers.length === 1) {
      clearTimeout(timer);
      timer = setTimeout(finish, listenMs);
    }
  } catch {
    // not a DNS message: ignore it
  }
});
sock.on('error', (err) => {
  process.stdout.write(`${JSON.stringify({ server, name, answers, error: err.message })}\n`);
  process.exit(0);
});
sock.send(buildQuery(id, name), 53, server);
