// The address this machine sends from, learned without sending anything:
// connect() on a UDP socket only asks the kernel for a route and a source
// address; no packet leaves. Behind a NAT it is a private address; on a
// machine with a public address (a server, IPv6 without NAT) it is the
// address every site sees, the one most worth scrubbing.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** The local address the kernel would send from toward `destination` (an IP), or null when there is no route. */
export function sourceAddressToward(destination: string): Promise<string | null> {
  const family = isIP(destination);
  if (family === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (address: string | null) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      try {
        socket.close();
      } catch {
        // Already closed.
      }
      resolve(address);
    };
    socket.once('error', () => done(null));
    // Any port: nothing is sent. 53 is what the resolver listens on.
    socket.connect(53, destination, () => {
      try {
        done(socket.address().address);
      } catch {
        done(null);
      }
    });
  });
}

/** The source addresses toward each destination, without duplicates (the first of each). */
export async function sourceAddresses(destinations: readonly string[]): Promise<string[]> {
  const found = await Promise.all(destinations.map(sourceAddressToward));
  return [...new Set(found.filter((a): a is string => a !== null))];
}
