// Listening as the benches' worlds do: a deep backlog (a sweep's first burst
// is hundreds of connects at once), resolved with the port actually bound.
import type { AddressInfo, Server } from 'node:net';

export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
