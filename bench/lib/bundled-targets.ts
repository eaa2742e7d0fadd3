// What a world must hold to answer the bundled targets.txt: every host name
// it (and the messaging apps' fixed endpoints, probes/app_endpoints.ts)
// names, for the DNS server and the certificate; every IP literal (Tor's
// directory authorities, Telegram's data centres), to be added to the bench
// namespace's `lo`; every port something connects to.
import { isIP } from 'node:net';
import { FACEBOOK_MESSENGER, SIGNAL, splitEndpoint, TELEGRAM, WHATSAPP } from '../../probes/app_endpoints.js';
import { isEndpointScheme, parseEndpointUrl, ENDPOINT_SCHEMES } from '../../probes/endpoint_url.js';
import type { Target } from '../../probes/types.js';

export interface BundledNeeds {
  /** DNS names (lower case), for the certificate; the DNS server answers every name anyway. */
  names: string[];
  /** IPv4 literals connected to: they must exist in the namespace. */
  addresses: string[];
  /** TCP ports connected to. */
  ports: number[];
}

/** "host:port" or a URL, as a host and a port (a URL's default port by scheme). */
function hostPort(endpoint: string): { host: string; port: number } {
  if (!/^[a-z][a-z0-9+]*:\/\//.test(endpoint)) return splitEndpoint(endpoint);
  const scheme = endpoint.slice(0, endpoint.indexOf(':'));
  if (isEndpointScheme(scheme)) {
    const { host, port } = parseEndpointUrl(endpoint, ENDPOINT_SCHEMES);
    return { host, port };
  }
  const url = new URL(endpoint.replace(/^tcp:/, 'http:'));
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/** The endpoints every app:// input reaches, from the lists the probes use by default. */
export function appEndpointList(): string[] {
  return [
    ...TELEGRAM.datacenters,
    ...TELEGRAM.web,
    ...WHATSAPP.endpoints,
    WHATSAPP.registration,
    WHATSAPP.web,
    ...SIGNAL.backends,
    ...FACEBOOK_MESSENGER.services.map((s) => `${s.hostname}:${s.port ?? 443}`),
  ];
}

export function bundledNeeds(targets: Target[]): BundledNeeds {
  const endpoints = targets.flatMap((t) => t.inputs).filter((i) => !i.startsWith('app://'));
  if (targets.some((t) => t.inputs.some((i) => i.startsWith('app://')))) endpoints.push(...appEndpointList());
  const names = new Set<string>();
  const addresses = new Set<string>();
  const ports = new Set<number>();
  for (const endpoint of endpoints) {
    const { host, port } = hostPort(endpoint);
    ports.add(port);
    if (isIP(host) === 4) addresses.add(host);
    else if (isIP(host) === 0) names.add(host.toLowerCase());
  }
  return { names: [...names].sort(), addresses: [...addresses].sort(), ports: [...ports].sort((a, b) => a - b) };
}
