// The echo endpoint for the protocol filter: on each port, every byte a
// client sends comes straight back. A filter that drops the client's later
// packets shows as echoes that stop.
import { createServer, type Server } from 'node:net';
import { isMain, log, runService, type Running } from './main.js';

export interface EchoConfig {
  /** One address, or several (each gets every port). */
  ip?: string;
  ips?: string[];
  ports: number[];
}

export async function startEcho(config: EchoConfig): Promise<Running> {
  const servers: Server[] = [];
  const ips = config.ips ?? (config.ip ? [config.ip] : []);
  for (const ip of ips) for (const port of config.ports) {
    const server = createServer((conn) => {
      conn.on('error', () => conn.destroy());
      conn.pipe(conn);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => resolve());
    });
    servers.push(server);
  }
  log('echo', `echoing on ${ips.join(', ')} ports ${config.ports.join(', ')}`);
  return { close: () => servers.forEach((s) => s.close()) };
}

if (isMain(import.meta.url)) runService('echo', startEcho);
