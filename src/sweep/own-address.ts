// The volunteer's own address, learnt without contacting anyone: the kernel's
// choice of source address toward a destination (a UDP connect sends nothing).
// On a machine with a public address that is the public one; behind NAT it is
// private, and a server echoing the public one is caught by the echoed-address
// rules of src/privacy instead. Learnt once per address family.
import { isIP } from 'node:net';
import { probeAddresses } from '../privacy/own-addresses.js';
import { sourceAddresses } from '../privacy/local-address.js';

const learnt = new Set<number>();

export async function learnOwnAddresses(destinations: readonly string[]): Promise<void> {
  const wanted = destinations.filter((ip) => {
    const family = isIP(ip);
    return family !== 0 && !learnt.has(family);
  });
  const byFamily = new Map<number, string>();
  for (const ip of wanted) if (!byFamily.has(isIP(ip))) byFamily.set(isIP(ip), ip);
  if (byFamily.size === 0) return;
  for (const family of byFamily.keys()) learnt.add(family);
  try {
    for (const address of await sourceAddresses([...byFamily.values()])) probeAddresses.add(address);
  } catch {
    // No route is no address to hide.
  }
}
