// Web connectivity: is this URL reachable, and if not, where is it blocked?
// The dns, tcp, tls and http probes of one input, judged together against
// the OONI test helper's view from outside.
import { isIP } from 'node:net';
import { dnsProbe } from '../../../probes/dns.js';
import { httpProbe } from '../../../probes/http.js';
import { tcpProbe } from '../../../probes/tcp.js';
import { tlsProbe } from '../../../probes/tls.js';
import { attemptRecords } from '../../analysis/observation.js';
import type { Experiment, PlannedInput } from '../types.js';
import { httpLanding, localDnsAddresses, webFacts, webInput } from './facts.js';
import { judgeWebUnit } from './judge.js';
import { WEB_CONNECTIVITY_EXTENSIONS, WEB_CONNECTIVITY_TEST_VERSION, webConnectivityKeys } from './ooni.js';
import { RASAD_TEST_VERSION } from '../long-lived-ooni.js';

/** A web unit whose input is a bare endpoint (tcp://ip:port) is no web_connectivity measurement: it has no URL to fetch. */
export const TCP_REACHABILITY_TEST_NAME = 'rasad_tcp_reachability';

const isUrl = (input: string) => /^https?:/i.test(input);
const WEB_SCHEMES = new Set(['http:', 'https:', 'tcp:']);

export const webExperiment: Experiment = {
  kind: 'web',
  summary: 'DNS, TCP, TLS and HTTP(S) reachability of a URL, against the control',
  probes: [dnsProbe, tcpProbe, tlsProbe, httpProbe],
  schedule: 'web',
  retried: true,
  webControl: true,
  exclusive: false,

  plan(target, wanted) {
    const inputs: PlannedInput[] = [];
    for (const url of target.inputs) {
      const parsed = new URL(url);
      // Other schemes (app://, tor://, ...) belong to their own experiments.
      if (!WEB_SCHEMES.has(parsed.protocol)) continue;
      const probes = this.probes
        .map((p) => p.kind)
        .filter((kind) => wanted.has(kind))
        .filter((kind) => {
          // TLS where there is TLS to test (https, a bare endpoint on 443), and for an http:// name a
          // handshake on 443 that tells whether the DNS answer serves the name (OONI's consistency check).
          if (kind === 'tls') {
            if (parsed.protocol === 'https:' || (parsed.protocol === 'tcp:' && parsed.port === '443')) return true;
            return parsed.protocol === 'http:' && isIP(parsed.hostname.replace(/^\[|\]$/g, '')) === 0;
          }
          if (kind === 'http') return parsed.protocol === 'http:' || parsed.protocol === 'https:';
          return true;
        });
      if (probes.length > 0) inputs.push({ url, probes });
    }
    return inputs;
  },

  deadlineMs: (settings) => settings.measurementDeadlineMs,

  needsRetry(attempt, url) {
    if (!attempt || typeof attempt !== 'object') return false;
    const own = new Set<string>(this.probes.map((p) => p.kind));
    const failed = attemptRecords(attempt).filter((r) => own.has(r.probe) && r.failure !== null && r.failure !== undefined);
    if (failed.length === 0) return false;
    // An IPv6 address this machine cannot route to is no reason to retry: only the other failures count.
    const facts = webFacts(attempt, webInput(url));
    return failed.some((r) => {
      if (r.probe === 'tcp') {
        const usable = [...facts.tcp.connects, ...facts.tcp.otherPort];
        return usable.length === 0 || usable.some((c) => c.failure !== null);
      }
      if (r.probe === 'tls') {
        const routable = [...facts.tls.namedAnyPort, ...facts.tls.innocuous];
        return routable.length === 0 || routable.some((h) => h.failure !== null && !h.innocuous);
      }
      return true;
    });
  },

  outcome(attempt) {
    const records = attemptRecords(attempt);
    const failures = records.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
    const http = attempt.http;
    const failed = http && typeof http === 'object' ? http.failure !== null : records.length > 0 && failures.length > 0;
    return { failed, failures };
  },

  captiveView: {
    host(url) {
      const input = webInput(url);
      return input.hostIsIp || !input.host ? null : input.host;
    },
    addresses: localDnsAddresses,
    validated: (url, attempt) => [...webFacts(attempt, webInput(url)).tls.validatedIps],
    landing: httpLanding,
  },

  judge: (unit, _context, options) => judgeWebUnit(unit, options),

  ooni: {
    testName: (input) => (isUrl(input) ? 'web_connectivity' : TCP_REACHABILITY_TEST_NAME),
    testVersion: (input) => (isUrl(input) ? WEB_CONNECTIVITY_TEST_VERSION : RASAD_TEST_VERSION),
    extensions: WEB_CONNECTIVITY_EXTENSIONS,
    keys: (measurements) => webConnectivityKeys(measurements),
  },
};
