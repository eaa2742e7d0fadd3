// A web unit (the dns, tcp, tls and http measurements of one URL in one run)
// as ONE OONI web_connectivity measurement (ooni/spec
// nettests/ts-017-web-connectivity.md), its test_keys in the template data
// formats: `queries` (df-002-dnst), `tcp_connect` (df-005-tcpconnect),
// `tls_handshakes` (df-006-tlshandshake) and `requests` (df-001-httpt).
// Times `t0`/`t` are moved from "seconds since this probe started" to
// "seconds since the unit started" (measurement_start_time). rasad's own
// observations that OONI has no key for are kept under `x_` keys, which the
// spec permits anywhere.
import type {
  DnsDetails,
  DnsResolution,
  HttpDetails,
  HttpHop,
  TcpDetails,
  TlsDetails,
  TlsHandshakeResult,
} from '../../../probes/types.js';
import type { ControlAnswer, Measurement } from '../../model.js';
import { parseStoredTime } from '../../export/time.js';
import { webSummaryKeys } from '../../export/ooni/web-summary.js';
import { TransactionIds, type NetworkEvent } from '../../export/ooni/web-transactions.js';

/** The classic (pre-LTE) web_connectivity key set is what these test_keys follow. */
export const WEB_CONNECTIVITY_TEST_VERSION = '0.4.3';
export const WEB_CONNECTIVITY_EXTENSIONS = { dnst: 0, httpt: 0, netevents: 0, tcpconnect: 0, tlshandshake: 0 };
export { DNS_CONSISTENCY_TAG, INNOCUOUS_SNI_TAG } from './ooni-steps.js';

export { blockingOf, type Blocking } from './ooni-blocking.js';
import { blockingOf } from './ooni-blocking.js';
import { arr, endpoint, hopConnect, num, portOf, query, request, seconds, tagsOf, tlsHandshake, unconnected, type TlsStep } from './ooni-steps.js';

export interface WebUnitKeys {
  testKeys: Record<string, unknown>;
  startMs: number;
  runtimeS: number;
}

/**
 * The test_keys of one web unit. `unit` holds the unit's measurements (any
 * of dns, tcp, tls, http; retries included), in time order.
 */
export function webConnectivityKeys(unit: Measurement[]): WebUnitKeys {
  const starts = unit.map((m) => parseStoredTime(m.started_at));
  const known = starts.filter((s): s is number => s !== null);
  const startMs = known.length ? Math.min(...known) : 0;
  let endMs = startMs;
  unit.forEach((m, i) => (endMs = Math.max(endMs, (starts[i] ?? startMs) + num(m.runtime_ms))));

  const queries: unknown[] = [];
  const tcpConnect: Record<string, unknown>[] = [];
  const siteHandshakes: TlsStep[] = [];
  const innocuousHandshakes: TlsStep[] = [];
  const unconnectedHandshakes: Record<string, unknown>[] = [];
  const networkEvents: NetworkEvent[] = [];
  const requests: unknown[] = [];
  const ids = new TransactionIds();
  // A retried unit repeats its probes: the n-th measurement of a kind belongs to attempt n.
  const attemptsOfKind = new Map<string, number>();
  let dnsFailure: string | null = null;
  let httpFailure: string | null = null;
  let httpFailedOperation: string | null = null;
  let finalHop: HttpHop | null = null;

  unit.forEach((m, i) => {
    const shift = ((starts[i] ?? startMs) - startMs) / 1000;
    const details = (m.details ?? {}) as unknown;
    const attempt = attemptsOfKind.get(String(m.probe)) ?? 0;
    attemptsOfKind.set(String(m.probe), attempt + 1);
    switch (m.probe) {
      case 'dns': {
        const d = details as Partial<DnsDetails>;
        for (const r of arr<DnsResolution>(d.resolutions)) if (r) queries.push(query(String(d.hostname ?? ''), r, shift, ids.fresh()));
        dnsFailure ??= m.failure ?? null;
        break;
      }
      case 'tcp':
        for (const c of arr<TcpDetails['connects'][number]>((details as Partial<TcpDetails>).connects)) {
          if (!c) continue;
          tcpConnect.push({
            ip: c.ip,
            port: num(c.port),
            status: { failure: c.failure ?? null, success: (c.failure ?? null) === null },
            t0: seconds(shift + num(c.t0)),
            t: seconds(shift + num(c.t)),
            transaction_id: ids.endpoint(attempt, endpoint(String(c.ip), num(c.port))),
          });
        }
        break;
      case 'tls': {
        const d = details as Partial<TlsDetails>;
        for (const h of arr<TlsHandshakeResult>(d.handshakes)) {
          if (!h) continue;
          const tags = tagsOf(h, d.purpose);
          // The site's own handshake joins its endpoint's transaction; the comparison is a transaction of its own.
          const id = h.innocuous ? ids.fresh() : ids.endpoint(attempt, endpoint(String(h.ip), num(h.port)));
          if (h.connect_ms === null && h.failure) {
            const u = unconnected(h, shift, id, tags);
            unconnectedHandshakes.push(u.entry);
            networkEvents.push(u.event);
            continue;
          }
          const step = tlsHandshake(h, shift, id, tags);
          (h.innocuous ? innocuousHandshakes : siteHandshakes).push(step);
        }
        break;
      }
      case 'http': {
        const hops = arr<HttpHop>((details as Partial<HttpDetails>).hops).filter(Boolean);
        // ts-017: requests are in time-reverse order, the final response first.
        for (let depth = hops.length - 1; depth >= 0; depth--) {
          const hop = hops[depth]!;
          let id: number;
          if (hop.ip) {
            const address = endpoint(hop.ip, portOf(hop.url));
            const known = ids.has(attempt, address);
            id = ids.endpoint(attempt, address);
            // Every request's transaction has its connect: the hop's own when no TCP probe connect shares its endpoint.
            if (!known) tcpConnect.push(hopConnect(hop, shift, id));
          } else {
            id = ids.fresh();
          }
          requests.push(request(hop, depth, shift, id));
        }
        finalHop = hops[hops.length - 1] ?? finalHop;
        httpFailure = m.failure ?? null;
        httpFailedOperation = m.failed_operation ?? null;
        break;
      }
    }
  });

  // The site's handshakes first: a reader that pairs steps by address alone meets them before the comparison.
  const handshakes = [...siteHandshakes, ...innocuousHandshakes];
  for (const h of handshakes) networkEvents.push(...h.events);
  networkEvents.sort((a, b) => a.t0 - b.t0 || a.t - b.t);

  // Every measurement of a unit carries the unit's verdict; the last probe's is the settled one.
  const last = unit[unit.length - 1];
  const verdict = String(last?.verdict ?? 'inconclusive');
  const control = unit.find((m) => m.control)?.control ?? null;
  const controlFailure = control ? null : controlFailureOf(unit);
  const { blocking, accessible } = blockingOf(verdict);
  const summary = webSummaryKeys(last?.evidence, finalHop, control as ControlAnswer | null);

  const testKeys: Record<string, unknown> = {
    agent: 'redirect',
    client_resolver: summary.client_resolver,
    retries: summary.retries,
    socksproxy: null,
    network_events: networkEvents,
    queries,
    tcp_connect: tcpConnect,
    tls_handshakes: handshakes.map((h) => h.entry),
    requests,
    dns_experiment_failure: dnsFailure,
    dns_consistency: summary.dns_consistency,
    http_experiment_failure: httpFailure,
    control_failure: controlFailure,
    control: control ?? {},
    body_length_match: summary.body_length_match,
    body_proportion: summary.body_proportion,
    headers_match: summary.headers_match,
    status_code_match: summary.status_code_match,
    title_match: summary.title_match,
    blocking,
    accessible,
    x_rasad_verdict: verdict,
    x_rasad_verdict_reason: last?.verdict_reason ?? '',
    x_rasad_evidence: last?.evidence ?? {},
    x_rasad_http_failed_operation: httpFailedOperation,
    x_rasad_target: last?.target ?? null,
    x_rasad_category: last?.category ?? null,
    x_rasad_tags: arr<string>(last?.tags),
    x_rasad_measurement_ids: unit.map((m) => m.measurement_id),
    x_rasad_tls_unconnected: unconnectedHandshakes,
  };
  return { testKeys, startMs, runtimeS: seconds((endMs - startMs) / 1000) };
}

/** Why there is no control: the evidence may say; otherwise OONI's catch-all. */
function controlFailureOf(unit: Measurement[]): string {
  for (const m of unit) {
    const said = (m.evidence as Record<string, unknown> | undefined)?.control_failure;
    if (typeof said === 'string' && said) return said;
  }
  return 'unknown_failure: no control answer';
}
