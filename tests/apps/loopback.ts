// Loopback stand-ins for the apps' servers: an HTTP server that answers any
// request (a Telegram data centre answers a POST with an error status), HTTPS
// servers for given names, and app probe options whose every list and host
// points at them. Every host a test names must be pinned: an unpinned name
// would go to the system resolver, which is not on loopback.
import type { AppEndpointOverrides } from '../../probes/app_endpoints.js';
import type { Pem } from '../helpers/certs.js';
import { rawHttpServer, rawHttpsServer, respond } from '../helpers/loopback/http.js';
import { noDnsOptions, probeInput, testOptions } from '../helpers/loopback/options.js';
import type { TestServer } from '../helpers/loopback/tcp.js';
import type { ProbeInput, ProbeOptions } from '../../probes/types.js';

export const cleanups: (() => Promise<void> | void)[] = [];

export async function track<T extends TestServer>(server: Promise<T>): Promise<T> {
  const s = await server;
  cleanups.push(() => s.close());
  return s;
}

/** Answers every request with `status` and a short body, as a data centre or a service front end does. */
export function answeringServer(status = 404, body = 'answer'): Promise<TestServer> {
  return track(rawHttpServer((_req, socket) => respond(socket, status, { 'content-type': 'text/plain' }, body)));
}

export function answeringHttpsServer(pem: Pem, status = 200, body = '<html><head><title>app</title></head></html>'): Promise<TestServer> {
  return track(rawHttpsServer(pem, (_req, socket) => respond(socket, status, { 'content-type': 'text/html' }, body)));
}

/** Every name of `overrides` that a probe may resolve must be in `hosts`: the check that keeps a test off the real network. */
function assertPinned(overrides: AppEndpointOverrides): void {
  const hosts = new Set(Object.keys(overrides.hosts ?? {}));
  const names = [
    ...(overrides.telegram?.web ?? []),
    ...(overrides.whatsapp?.registration ? [overrides.whatsapp.registration] : []),
    ...(overrides.whatsapp?.web ? [overrides.whatsapp.web] : []),
    ...(overrides.signal?.backends ?? []),
  ].map((u) => new URL(u).hostname);
  const endpoints = [...(overrides.telegram?.datacenters ?? []), ...(overrides.whatsapp?.endpoints ?? [])].map((e) => e.slice(0, e.lastIndexOf(':')));
  for (const name of [...names, ...endpoints]) {
    if (!/^127\.\d+\.\d+\.\d+$/.test(name) && !hosts.has(name)) throw new Error(`test host ${name} is not pinned to loopback`);
  }
  for (const [name, addrs] of Object.entries(overrides.hosts ?? {})) {
    if (!addrs.every((a) => /^127\./.test(a))) throw new Error(`test host ${name} is pinned off loopback`);
  }
}

/** The input `app://<app>` with options pointing every list at loopback. */
export function appInput(app: string, overrides: AppEndpointOverrides, extra: Partial<ProbeOptions> & { resolver?: string } = {}): ProbeInput {
  assertPinned(overrides);
  const options = extra.resolver ? testOptions({ ...extra, resolver: extra.resolver, appEndpoints: overrides }) : noDnsOptions({ ...extra, appEndpoints: overrides });
  const url = `app://${app}`;
  return probeInput(url, [], options);
}
