// The control helper's measurement of one request: the name resolved from
// outside, TCP and TLS to the probe's and its own endpoints, the page
// fetched, and what it knows of each address (ip_info, with the ASN from
// the bundled table, so the judge can apply OONI's same-ASN rule).
import { isIP } from 'node:net';
import { isBogon } from '../../probes/bogons.js';
import { FAILURE } from '../../probes/failure.js';
import { failureOf, hostPort, lookupSystem } from '../../probes/net.js';
import { MAX_ADDRESSES, addressCap, interleaveFamilies, tcpProbe } from '../../probes/tcp.js';
import { realSniHandshakes } from '../../probes/tls.js';
import type { Target } from '../../probes/types.js';
import { BROWSER_USER_AGENT, DEFAULT_PROBE_OPTIONS } from '../config/schema.js';
import type { ControlAnswer } from '../model.js';
import { lookupAsn } from '../net/asn.js';
import { REFUSED_FAILURE, isRefusedAddress } from './address_policy.js';
import { fetchPage, firstHeader, type MeasureContext } from './helper_fetch.js';
import { HelperRequestError, parseEndpoint, type ControlRequestBody } from './helper_request.js';

const MAX_ENDPOINTS = 16;

/** What measureControl needs of the helper's options. */
export interface MeasureOptions {
  allowPrivate?: boolean;
  timeoutMs?: number;
  extraCaPem?: string;
  forbidAddress?: (ip: string) => boolean;
}

/** Measures one control request. Throws HelperRequestError for a request it will not measure. */
export async function measureControl(creq: ControlRequestBody, opts: MeasureOptions, signal: AbortSignal): Promise<ControlAnswer> {
  let url: URL;
  try {
    url = new URL(creq.http_request);
  } catch {
    throw new HelperRequestError(400, 'http_request is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HelperRequestError(400, `unsupported scheme ${url.protocol}`);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const refuse = (ip: string) => (!opts.allowPrivate && isRefusedAddress(ip)) || (opts.forbidAddress?.(ip) ?? false);
  if (isIP(host) !== 0 && refuse(host)) throw new HelperRequestError(403, 'refusing to measure a private, loopback or reserved address');
  const ctx: MeasureContext = {
    options: {
      ...DEFAULT_PROBE_OPTIONS,
      timeoutMs: opts.timeoutMs ?? DEFAULT_PROBE_OPTIONS.timeoutMs,
      extraCaPem: opts.extraCaPem,
      userAgent: firstHeader(creq.http_request_headers, 'user-agent') ?? BROWSER_USER_AGENT,
    },
    refuse,
    signal,
  };

  // DNS: the system resolver, as the legacy helper; an IP host is not resolved.
  const dns: ControlAnswer['dns'] = { failure: null, addrs: [] };
  if (isIP(host) === 0) {
    try {
      dns.addrs = await lookupSystem(host, signal, ctx.options.timeoutMs);
    } catch (err) {
      dns.failure = legacyDnsFailure(failureOf(err, signal));
    }
  }

  // Endpoints: the probe's and ours, on the URL's port (and 443 too for a
  // plain-http URL, to see which addresses serve the name over TLS).
  const urlPort = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const ports = url.protocol === 'http:' && !url.port ? [urlPort, 443] : [urlPort];
  const probeIps = new Set<string>();
  const endpoints = new Map<string, { ip: string; port: number }>();
  for (const text of creq.tcp_connect) {
    const ep = parseEndpoint(text);
    if (!ep) continue;
    probeIps.add(ep.ip);
    endpoints.set(hostPort(ep.ip, ep.port), ep);
  }
  for (const ip of dns.addrs) for (const port of ports) endpoints.set(hostPort(ip, port), { ip, port });
  const chosen = [...endpoints.values()].slice(0, MAX_ENDPOINTS);

  const tcp_connect: ControlAnswer['tcp_connect'] = {};
  for (const ep of chosen) if (refuse(ep.ip)) tcp_connect[hostPort(ep.ip, ep.port)] = { status: false, failure: REFUSED_FAILURE };
  const allowed = chosen.filter((ep) => !refuse(ep.ip));

  const [tcpEntries, tlsEntries, http_request] = await Promise.all([
    measureTcp(allowed, url, ctx),
    measureTls(allowed, url, host, ctx),
    fetchPage(url, creq.http_request_headers, dns.addrs, ctx),
  ]);
  Object.assign(tcp_connect, tcpEntries);

  const ip_info: NonNullable<ControlAnswer['ip_info']> = {};
  for (const ip of new Set([...probeIps, ...dns.addrs])) {
    // th.go flags: 1 resolved by the probe, 2 by the helper, 4 bogon, 8 TLS for the name validated on it.
    let flags = (probeIps.has(ip) ? 1 : 0) | (dns.addrs.includes(ip) ? 2 : 0) | (isBogon(ip) ? 4 : 0);
    if (Object.entries(tlsEntries).some(([ep, r]) => r.status && parseEndpoint(ep)?.ip === ip)) flags |= 8;
    ip_info[ip] = { asn: asnOf(ip), flags };
  }
  return { dns, tcp_connect, tls_handshake: tlsEntries, http_request, ip_info };
}

/** The ASN of an address, 0 when unknown (a bogon, or no table). */
function asnOf(ip: string): number {
  if (isBogon(ip)) return 0;
  try {
    return lookupAsn(ip) ?? 0;
  } catch {
    return 0;
  }
}

/** The legacy helper's DNS strings (oohelperd dns.go): the analysis and OONI's tools expect them. */
function legacyDnsFailure(failure: string): string | null {
  if (failure === FAILURE.dnsNxdomain) return 'dns_name_error';
  if (failure === FAILURE.dnsNoAnswer) return null;
  if (failure === FAILURE.dnsServfail || failure === FAILURE.dnsRefused || failure === FAILURE.dnsTemporary) return 'dns_server_failure';
  if (failure === FAILURE.timeout) return FAILURE.timeout;
  return 'unknown_error';
}

function helperTarget(url: string): Target {
  return { raw: url, category: 'MISC', tags: [], inputs: [url] };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function measureTcp(endpoints: { ip: string; port: number }[], url: URL, ctx: MeasureContext): Promise<ControlAnswer['tcp_connect']> {
  const out: ControlAnswer['tcp_connect'] = {};
  const byPort = new Map<number, string[]>();
  for (const ep of endpoints) byPort.set(ep.port, [...(byPort.get(ep.port) ?? []), ep.ip]);
  const runs = [...byPort].flatMap(([port, ips]) =>
    chunks(ips, MAX_ADDRESSES).map(async (group) => {
      // A tcp:// input makes the probe connect to exactly these addresses on this port.
      const input = `tcp://${hostPort(group[0]!, port)}`;
      const result = await tcpProbe.run({ target: helperTarget(url.href), url: input, addresses: group, options: ctx.options }, ctx.signal);
      for (const c of result.details.connects) out[hostPort(c.ip, c.port)] = { status: c.failure === null, failure: c.failure };
    }),
  );
  await Promise.all(runs);
  return out;
}

async function measureTls(endpoints: { ip: string; port: number }[], url: URL, host: string, ctx: MeasureContext): Promise<NonNullable<ControlAnswer['tls_handshake']>> {
  const out: NonNullable<ControlAnswer['tls_handshake']> = {};
  if (isIP(host) !== 0) return out;
  const tlsPort = url.protocol === 'https:' ? (url.port ? Number(url.port) : 443) : url.port ? null : 443;
  if (tlsPort === null) return out;
  const ips = [...new Set(endpoints.filter((ep) => ep.port === tlsPort).map((ep) => ep.ip))];
  await Promise.all(
    chunks(ips, MAX_ADDRESSES).map(async (group) => {
      // Only the real-SNI handshakes are answered: the tls probe's innocuous
      // one and the chain it keeps would be measured and dropped here.
      const addresses = interleaveFamilies(group, addressCap(ctx.options));
      for (const h of await realSniHandshakes(addresses, tlsPort, host, ctx.options, ctx.signal)) {
        out[hostPort(h.ip, h.port)] = { server_name: h.server_name, status: h.failure === null, failure: h.failure };
      }
    }),
  );
  return out;
}

