// What the four messaging-app experiments (telegram, whatsapp, signal,
// facebook_messenger) share: one probe on one input (`app://<name>`), a
// failed attempt retried, and a judge that names the first step of the app
// that fails in the web vocabulary. There is no control: the endpoints are
// the services' own, and the sweep's domestic canaries tell a dead network
// from a blocked app.
import type { AppConnect, AppFetch } from '../../probes/app_steps.js';
import { FAILURE } from '../../probes/failure.js';
import type { Operation, Probe, ProbeResult } from '../../probes/types.js';
import { attemptRecords, lastAttempt, type JudgeOptions, type UnitObservation } from '../analysis/observation.js';
import type { Fingerprints } from '../analysis/fingerprints.js';
import type { Measurement, Verdict, VerdictResult } from '../model.js';
import { parseStoredTime } from '../export/time.js';
import { rasadTestKeys } from './long-lived-ooni.js';
import type { Experiment, OoniKeys } from './types.js';

const CONNECT_BLOCKING = new Set<string>([FAILURE.connectionRefused, FAILURE.connectionReset, FAILURE.timeout, FAILURE.hostUnreachable]);
const TLS_INTERFERENCE = new Set<string>([FAILURE.connectionReset, FAILURE.timeout, FAILURE.eof, FAILURE.sslFailedHandshake]);
const HTTP_INTERFERENCE = new Set<string>([FAILURE.connectionReset, FAILURE.timeout, FAILURE.eof]);
const CERT_FAILURES = new Set<string>([FAILURE.sslInvalidHostname, FAILURE.sslUnknownAuthority, FAILURE.sslInvalidCertificate]);

/** A step's outcome in the verdict vocabulary, and why. */
export interface StepVerdict {
  verdict: Verdict;
  reason: string;
}

/** The verdict a failed step says, by the operation it failed in; inconclusive when the failure names no interference. */
export function verdictOfFailure(what: string, failure: string, operation: Operation | null): StepVerdict {
  const said = (verdict: Verdict, how: string): StepVerdict => ({ verdict, reason: `${what}: ${how} (${failure}).` });
  switch (operation) {
    case 'resolve':
      if (failure === FAILURE.dnsNxdomain) return said('dns.nxdomain', 'the resolver says the name does not exist');
      if (failure === FAILURE.timeout) return said('dns.timeout', 'the resolver did not answer');
      return said('inconclusive', 'the name did not resolve');
    case 'connect':
      if (CONNECT_BLOCKING.has(failure)) return said('tcp.blocked', 'the TCP connect fails');
      return said('inconclusive', 'the TCP connect fails in a way that names no interference');
    case 'tls_handshake':
      if (TLS_INTERFERENCE.has(failure)) return said('tls.reset', 'the TLS handshake is cut');
      if (CERT_FAILURES.has(failure)) return said('inconclusive', 'the certificate does not validate: possible interception, which no verdict of rasad names');
      return said('inconclusive', 'the TLS handshake fails');
    case 'http_round_trip':
    case 'read':
    case 'write':
      if (HTTP_INTERFERENCE.has(failure)) return said('http.reset', 'the HTTP exchange is cut after the request');
      return said('inconclusive', 'the HTTP exchange fails');
    default:
      return said('inconclusive', 'the step fails');
  }
}

/** The verdict of one fetch: a failure's, a blockpage or an injected address on any hop, or null when it got the service's answer. */
export function fetchVerdict(what: string, fetch: AppFetch, fingerprints: Fingerprints | undefined): StepVerdict | null {
  const hops = Array.isArray(fetch.hops) ? fetch.hops.filter(Boolean) : [];
  for (const hop of hops) {
    const injected = hop.ip ? fingerprints?.matchDnsAddress(hop.ip) : null;
    if (injected) return { verdict: 'dns.injected', reason: `${what}: the name resolves to ${hop.ip}, an address the censor of ${injected.country} injects (${injected.id}).` };
    const page = fingerprints?.matchHttp(hop);
    if (page) return { verdict: 'http.blockpage', reason: `${what}: ${hop.url} answers with a blockpage (${page.id}, ${page.country}).` };
  }
  if (fetch.failure === null) return null;
  return verdictOfFailure(what, fetch.failure, fetch.failed_operation);
}

/** The verdict when every endpoint of a group failed: the most common failure's, over the endpoints that got as far as a connect. */
export function endpointsVerdict(what: string, connects: readonly AppConnect[]): StepVerdict {
  const failed = connects.filter((c) => c.failure !== null);
  const count = new Map<string, { n: number; c: AppConnect }>();
  for (const c of failed) {
    const key = `${c.failed_operation}|${c.failure}`;
    const seen = count.get(key);
    if (seen) seen.n++;
    else count.set(key, { n: 1, c });
  }
  const top = [...count.values()].sort((a, b) => b.n - a.n)[0];
  if (!top) return { verdict: 'inconclusive', reason: `${what}: no endpoint was measured.` };
  const step = verdictOfFailure(what, top.c.failure!, top.c.failed_operation);
  return { verdict: step.verdict, reason: `${what}: none of ${connects.length} endpoints answers; ${top.n} fail the same way: ${step.reason.slice(what.length + 2)}` };
}

/** A connect or fetch, for a verdict's evidence. */
export function stepEvidence(s: AppConnect | AppFetch): Record<string, unknown> {
  return 'endpoint' in s
    ? { endpoint: s.endpoint, ip: s.ip, failure: s.failure, failed_operation: s.failed_operation, ...(s.status_code !== undefined ? { status_code: s.status_code } : {}) }
    : { url: s.url, failure: s.failure, failed_operation: s.failed_operation, status_code: s.status_code };
}

/** The details of an app probe's last attempt, or null when the record is missing or malformed. */
export function appDetails<D>(unit: UnitObservation, kind: string): D | null {
  const record = (lastAttempt(unit) as Record<string, ProbeResult<D> | undefined>)[kind];
  const details = record?.details;
  return details && typeof details === 'object' ? details : null;
}

export function arr<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value.filter(Boolean) as T[]) : [];
}

export interface AppExperimentSpec<D> {
  kind: 'telegram' | 'whatsapp' | 'signal' | 'facebook_messenger';
  summary: string;
  probe: Probe<D>;
  /** Whether the attempt reached the service at all (for the sweep's view of its own network). */
  reached(details: D): boolean;
  judge(unit: UnitObservation, options: JudgeOptions): VerdictResult;
  ooni: { testVersion: string; keys(details: D | null, verdict: string): Record<string, unknown> };
}

/** An app experiment: its one probe on its own `app://<kind>` input. */
export function appExperiment<D>(spec: AppExperimentSpec<D>): Experiment {
  const input = `app://${spec.kind}`;
  return {
    kind: spec.kind,
    summary: spec.summary,
    probes: [spec.probe as Probe],
    // Quick (one minute at most) and what volunteers ask about first: measured with the web probes.
    schedule: 'web',
    retried: true,
    webControl: false,
    exclusive: false,
    plan: (target, wanted) => (wanted.has(spec.probe.kind) && target.inputs.includes(input) ? [{ url: input, probes: [spec.probe.kind] }] : []),
    deadlineMs: (settings) => settings.measurementDeadlineMs,
    needsRetry: (attempt) => attemptRecords(attempt).some((r) => r.probe === spec.probe.kind && r.failure !== null && r.failure !== undefined),
    outcome(attempt) {
      const records = attemptRecords(attempt);
      const failures = records.map((r) => r.failure).filter((f): f is string => typeof f === 'string');
      const details = records.find((r) => r.probe === spec.probe.kind)?.details as D | undefined;
      const reached = !!details && typeof details === 'object' && spec.reached(details);
      return { failed: records.length > 0 && !reached, failures };
    },
    judge: (unit, _context, options) => spec.judge(unit, options),
    ooni: {
      testName: () => spec.kind,
      testVersion: () => spec.ooni.testVersion,
      extensions: { dnst: 0, httpt: 0, tcpconnect: 0 },
      keys: (measurements) => appOoniKeys(measurements, (d, v) => spec.ooni.keys(d as D | null, v)),
    },
  };
}

/** OONI's own keys of the app test first, then rasad's record and verdict (x_rasad_*), as every rasad export carries. */
function appOoniKeys(measurements: Measurement[], own: (details: unknown, verdict: string) => Record<string, unknown>): OoniKeys {
  const m = measurements[measurements.length - 1]!;
  const base = rasadTestKeys(m);
  const details = m.details && typeof m.details === 'object' ? m.details : null;
  return { ...base, startMs: parseStoredTime(m.started_at) ?? base.startMs, testKeys: { agent: 'redirect', ...own(details, String(m.verdict ?? 'inconclusive')), ...base.testKeys } };
}

/** OONI's df-005 tcp_connect entries for these connects. */
export function ooniTcpConnect(connects: readonly AppConnect[]): Record<string, unknown>[] {
  return connects.flatMap((c) =>
    arr<{ ip: string; failure: string | null }>(c.attempts).map((a) => ({
      ip: a.ip,
      port: c.port,
      status: { failure: a.failure ?? null, success: (a.failure ?? null) === null },
      t0: c.t0,
      t: c.t,
    })),
  );
}
