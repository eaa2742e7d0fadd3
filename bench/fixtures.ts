// Synthetic measurements for the benches: web units (dns, tcp, tls, http)
// shaped like what the sweep stores (the web judge's evidence on each of them,
// the control's answer on the unit's http measurement,
// an ok page's body sample stripped, a blockpage's kept), with a realistic mix
// of verdicts, and optionally the long-lived probes. Deterministic (seeded),
// generated lazily in batches so that a million rows never sit in memory.
// Names are under .test and addresses in documentation ranges: nothing here
// is ever contacted.
import type { HttpHop } from '../probes/types.js';
import { compareHttp } from '../src/analysis/httpdiff.js';
import type { AttemptResults } from '../src/analysis/observation.js';
import { controlSummary } from '../src/experiments/web/control.js';
import { attemptFailures, attemptTimings } from '../src/experiments/web/judge.js';
import type { ControlAnswer, Measurement, Verdict } from '../src/model.js';
import { timeOrderedId } from '../src/records/ids.js';

export interface SyntheticRun {
  run_id: string;
  started_at: string;
  probes: string[];
  inputs_total: number;
}

export interface SyntheticBatch {
  /** Runs first seen in this batch: begin them before inserting the measurements. */
  runs: SyntheticRun[];
  measurements: Measurement[];
}

export interface SyntheticOptions {
  seed?: number;
  /** Web units per run (default 100). */
  unitsPerRun?: number;
  /** Add a tls_duration, throughput or protocol measurement after every 25 web units (default false). */
  longProbes?: boolean;
}

/** mulberry32: a small, fast, seeded PRNG (reproducible benches). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Verdicts of web units, roughly as a probe inside a censored network sees them.
const WEB_VERDICTS: [Verdict, number][] = [
  ['ok', 0.8],
  ['dns.injected', 0.06],
  ['http.blockpage', 0.05],
  ['tls.reset', 0.03],
  ['tcp.blocked', 0.02],
  ['down', 0.02],
  ['inconclusive', 0.02],
];

const BLOCKPAGE =
  '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256"><title>M1-6</title></head><body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy " style="width: 100%; height: 100%" scrolling="no" marginwidth="0" marginheight="0" frameborder="0" vspace="0" hspace="0"></iframe></body></html>\r\n\r\n';

const CATEGORIES = ['NEWS', 'GRP', 'MMED', 'ANON', 'COMT', 'HUMR', 'POLR', 'SRCH'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function pickVerdict(rand: () => number): Verdict {
  let x = rand();
  for (const [v, p] of WEB_VERDICTS) {
    if ((x -= p) < 0) return v;
  }
  return 'ok';
}

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** A version-4 UUID from the seeded stream: the random bits of a time-ordered id (src/records/ids.ts), as the sweep gives. */
function uuid(rand: () => number): string {
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(rand, 3)}-${hex(rand, 12)}`;
}

const r3 = (x: number) => Math.round(x * 1e4) / 1e4;

interface UnitContext {
  rand: () => number;
  runId: string;
  url: string;
  host: string;
  target: string;
  category: string;
  tags: string[];
  verdict: Verdict;
  ip: string;
  startMs: number;
}

function controlAnswer(c: UnitContext): ControlAnswer {
  return {
    dns: { failure: null, addrs: [c.ip] },
    tcp_connect: { [`${c.ip}:443`]: { status: true, failure: null } },
    tls_handshake: { [`${c.ip}:443`]: { server_name: c.host, status: true, failure: null } },
    http_request: {
      body_length: 40_000 + Math.floor(c.rand() * 200_000),
      failure: null,
      title: `${c.host} - news, video and more`,
      headers: { 'Content-Type': 'text/html; charset=utf-8', Server: 'nginx', 'Cache-Control': 'max-age=600' },
      status_code: 200,
    },
    ip_info: { [c.ip]: { asn: 64496 + Math.floor(c.rand() * 10), flags: 11 } },
  };
}

function webUnit(c: UnitContext): Measurement[] {
  const { rand, verdict } = c;
  const injected = verdict === 'dns.injected';
  const seen = injected ? '10.10.34.34' : c.ip;
  const reason =
    verdict === 'ok'
      ? 'reachable, and consistent with the control'
      : verdict === 'dns.injected'
        ? 'the local resolver answered a fingerprinted address (ir_10dot10_ipv4_1); the control resolved another'
        : verdict === 'http.blockpage'
          ? 'the response matches blockpage fingerprint ooni.ir_0'
          : `${verdict}: see evidence`;
  const control = controlAnswer(c);
  const base = (probe: Measurement['probe'], offsetMs: number, runtimeMs: number, failure: string | null, failedOperation: Measurement['failed_operation'], details: unknown): Measurement => ({
    measurement_id: timeOrderedId(c.startMs + offsetMs, uuid(rand)),
    run_id: c.runId,
    target: c.target,
    url: c.url,
    category: c.category,
    tags: c.tags,
    probe,
    started_at: new Date(c.startMs + offsetMs).toISOString(),
    runtime_ms: runtimeMs,
    failure,
    failed_operation: failedOperation,
    details,
    verdict,
    verdict_reason: reason,
    control: probe === 'http' ? control : null,
    evidence: {}, // the judge's, set by webEvidence once the unit is built
  });
  const answer = { type: 'A' as const, value: seen, ttl: null };
  const dns = base('dns', 0, r3(1000 + rand() * 20), null, null, {
    hostname: c.host,
    resolutions: [
      { engine: 'system', resolver: 'getaddrinfo', query_type: 'ANY', t0: 0, t: r3(rand() * 0.05), failure: null, rcode: null, answers: [answer], responses: [{ t: 0.02, rcode: 'NOERROR', answers: [answer] }], bogons: injected ? [seen] : [], injection_suspected: false },
      { engine: 'udp', resolver: '192.0.2.53:53', query_type: 'A', t0: 0.05, t: r3(0.05 + rand() * 0.05), failure: null, rcode: 'NOERROR', answers: [{ ...answer, ttl: 300 }], responses: [{ t: 0.08, rcode: 'NOERROR', answers: [{ ...answer, ttl: 300 }] }], bogons: injected ? [seen] : [], injection_suspected: injected },
    ],
    addresses: [seen],
  });
  const tcpFails = verdict === 'tcp.blocked' || verdict === 'down' || injected;
  const tcp = base('tcp', 1010, r3(tcpFails ? 10_000 : 20 + rand() * 80), tcpFails ? 'generic_timeout_error' : null, tcpFails ? 'connect' : null, {
    connects: [{ ip: seen, port: 443, t0: 0, t: tcpFails ? 10 : r3(0.02 + rand() * 0.08), failure: tcpFails ? 'generic_timeout_error' : null, connect_ms: tcpFails ? null : r3(20 + rand() * 80) }],
  });
  const tlsFails = verdict === 'tls.reset' || tcpFails;
  const tlsFailure = verdict === 'tls.reset' ? 'connection_reset' : tlsFails ? 'generic_timeout_error' : null;
  const cert = { subject_cn: c.host, san: [c.host, `*.${c.host.replace(/^www\./, '')}`], issuer_cn: 'rasad bench CA', not_after: '2026-06-01T00:00:00.000Z' };
  const handshake = (serverName: string, innocuous: boolean, failure: string | null, t0: number) => ({
    ip: seen,
    port: 443,
    server_name: serverName,
    innocuous,
    t0,
    t: r3(t0 + 0.03 + rand() * 0.05),
    failure,
    cert_validation: failure ? null : innocuous ? 'wrong_host' : 'valid',
    tls_version: failure ? null : 'TLSv1.3',
    alpn: failure ? null : 'h2',
    handshake_ms: failure ? null : r3(30 + rand() * 50),
    peer_certificate: failure ? null : cert,
  });
  const tls = base('tls', 1120, r3(tlsFails ? 10_000 : 60 + rand() * 100), tlsFailure, tlsFailure ? 'tls_handshake' : null, {
    handshakes: [handshake(c.host, false, tlsFailure, 0), handshake('example.org', true, tcpFails ? 'generic_timeout_error' : verdict === 'tls.reset' ? null : 'ssl_invalid_hostname', 0.09)],
  });
  const blockpage = verdict === 'http.blockpage';
  const httpFails = tlsFails;
  const hop: HttpHop = {
    url: c.url,
    ip: seen,
    t0: 0,
    t: r3(httpFails ? 10 : 0.2 + rand() * 0.5),
    failure: httpFails ? tlsFailure : null,
    failed_operation: httpFails ? 'tls_handshake' : null,
    status_code: httpFails ? null : blockpage ? 403 : 200,
    headers: httpFails
      ? {}
      : blockpage
        ? { Connection: 'close', 'Content-Type': 'text/html; charset=windows-1256' }
        : { 'Content-Type': 'text/html; charset=utf-8', Server: 'nginx', 'Cache-Control': 'max-age=600', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding', Date: new Date(c.startMs).toUTCString() },
    title: httpFails ? null : blockpage ? 'M1-6' : `${c.host} - news, video and more`,
    body_length: httpFails ? null : blockpage ? Buffer.byteLength(BLOCKPAGE) : 40_000 + Math.floor(rand() * 200_000),
    body_truncated: false,
    // The sweep keeps a blockpage's body as evidence and strips an ordinary page's.
    body_sample: blockpage ? BLOCKPAGE : null,
    body_sha256: httpFails ? null : hex(rand, 64),
    timings: { connect_ms: httpFails ? null : r3(20 + rand() * 80), tls_ms: httpFails ? null : r3(30 + rand() * 50), first_byte_ms: httpFails ? null : r3(100 + rand() * 300), total_ms: r3(200 + rand() * 500) },
  };
  const http = base('http', 1300, r3(httpFails ? 10_000 : 200 + rand() * 500), hop.failure, httpFails ? 'tls_handshake' : null, { hops: [hop] });
  const evidence = webEvidence(c, control, { dns, tcp, tls, http } as AttemptResults, hop);
  for (const m of [dns, tcp, tls, http]) m.evidence = evidence;
  return [dns, tcp, tls, http];
}

/**
 * The evidence the web judge stores on each of a unit's measurements, in its
 * shape (src/experiments/web/judge.ts, http-layer.ts), built with its own
 * functions: the control's summary, each attempt's failures, the deciding
 * attempt's timings, and what the deciding layer adds (a page's comparison
 * with the control's). A bench whose records lack it parses less than a
 * volunteer's database holds. Uses no randomness: the other fields stay as
 * they were.
 */
function webEvidence(c: UnitContext, control: ControlAnswer, attempt: AttemptResults, hop: HttpHop): Record<string, unknown> {
  const attempts = c.verdict === 'ok' ? 1 : 3;
  const failures = { ...attemptFailures(attempt), verdict: c.verdict };
  const dnsConsistency = c.verdict === 'dns.injected' ? 'inconsistent' : 'consistent';
  const layer =
    hop.status_code === null
      ? { dns_consistency: dnsConsistency, tls_validated: false }
      : { status_code: hop.status_code, body_length: hop.body_length, title: hop.title, hops: 1, comparison: compareHttp(hop, control.http_request), dns_consistency: dnsConsistency };
  return {
    control: controlSummary(control),
    control_failed: false,
    attempts: Array.from({ length: attempts }, () => failures),
    decided_by_attempt: attempts - 1,
    timings: attemptTimings(attempt),
    ...layer,
  };
}

function longProbe(c: UnitContext, kind: 'tls_duration' | 'throughput' | 'protocol'): Measurement {
  const { rand } = c;
  const common = {
    measurement_id: timeOrderedId(c.startMs, uuid(rand)),
    run_id: c.runId,
    target: c.target,
    url: kind === 'protocol' ? `tcp://${c.ip}:443` : c.url,
    category: c.category,
    tags: c.tags,
    started_at: new Date(c.startMs).toISOString(),
    failed_operation: null,
    control: null,
  };
  if (kind === 'tls_duration') {
    const cut = rand() < 0.3;
    return {
      ...common,
      probe: kind,
      runtime_ms: 150_000,
      failure: cut ? 'connection_reset' : null,
      details: {
        horizon_s: 150,
        tls: { kind: 'tls', ip: c.ip, port: 443, died_after_s: cut ? r3(60 + rand()) : null, end: cut ? 'reset' : 'horizon', failure: cut ? 'connection_reset' : null, bytes_received: 48_000, requests_completed: cut ? 12 : 30 },
        plain: { kind: 'plain', ip: c.ip, port: 80, died_after_s: null, end: 'horizon', failure: null, bytes_received: 152_000, requests_completed: 30 },
      },
      verdict: cut ? 'tls.session_cut' : 'ok',
      verdict_reason: cut ? 'the TLS session was reset after 60 s; the plain one lived to the horizon' : 'both sessions lived to the horizon',
      evidence: cut ? { cut_after_s: 60 } : {},
    };
  }
  if (kind === 'throughput') {
    const slow = rand() < 0.3;
    const rate = slow ? 8_000 : 280_000;
    return {
      ...common,
      probe: kind,
      runtime_ms: 30_000,
      failure: null,
      details: {
        url: c.url,
        bytes: rate * 30,
        duration_s: 30,
        time_to_first_byte_ms: r3(200 + rand() * 600),
        samples: Array.from({ length: 30 }, (_, i) => ({ t: i + 1, bytes: rate * (i + 1) })),
        steady_rate_bps: rate,
        rate_cv: r3(rand() * 0.1),
        shape: 'flat',
        domestic: c.tags.includes('domestic'),
      },
      verdict: slow ? 'throttled' : 'ok',
      verdict_reason: slow ? 'steady at 1/35 of the domestic baseline' : 'as fast as the baseline',
      evidence: slow ? { ratio: 0.029 } : {},
    };
  }
  const filtered = rand() < 0.3;
  return {
    ...common,
    probe: kind,
    runtime_ms: 20_000,
    failure: filtered ? 'generic_timeout_error' : null,
    details: {
      ip: c.ip,
      flows: [
        { kind: 'valid_first', port: 443, failure: null, later_data_flows: true, bytes_sent: 1024, bytes_received: 2048 },
        { kind: 'junk_first', port: 443, failure: filtered ? 'generic_timeout_error' : null, later_data_flows: !filtered, bytes_sent: 1024, bytes_received: filtered ? 0 : 1024 },
      ],
    },
    verdict: filtered ? 'protocol.filtered' : 'ok',
    verdict_reason: filtered ? 'after a junk first packet later data was dropped' : 'both flows passed',
    evidence: {},
  };
}

/** `total` synthetic measurements, in batches of `batchSize`. */
export function* syntheticBatches(total: number, batchSize: number, options: SyntheticOptions = {}): Generator<SyntheticBatch> {
  const rand = prng(options.seed ?? 0x5eed);
  const unitsPerRun = options.unitsPerRun ?? 100;
  const epoch = Date.parse('2025-01-01T00:00:00Z');
  let produced = 0;
  let unit = 0;
  let run: SyntheticRun | null = null;
  let batch: SyntheticBatch = { runs: [], measurements: [] };
  const LONG = ['tls_duration', 'throughput', 'protocol'] as const;

  while (produced < total) {
    if (unit % unitsPerRun === 0) {
      const index = unit / unitsPerRun;
      run = { run_id: timeOrderedId(epoch + index * 3_600_000, uuid(rand)), started_at: new Date(epoch + index * 3_600_000).toISOString(), probes: ['dns', 'tcp', 'tls', 'http'], inputs_total: unitsPerRun };
      batch.runs.push(run);
    }
    const n = unit % 5000;
    const host = `www.site-${String(n).padStart(4, '0')}.test`;
    const context: UnitContext = {
      rand,
      runId: run!.run_id,
      url: `https://${host}/`,
      host,
      target: host,
      category: pick(rand, CATEGORIES),
      tags: n % 20 === 0 ? ['domestic'] : [],
      verdict: pickVerdict(rand),
      ip: `198.51.100.${n % 250}`,
      startMs: Date.parse(run!.started_at) + (unit % unitsPerRun) * 2_000,
    };
    const rows = webUnit(context);
    if (options.longProbes && unit % 25 === 24) rows.push(longProbe(context, LONG[Math.floor(unit / 25) % 3]!));
    for (const m of rows) {
      if (produced >= total) break;
      batch.measurements.push(m);
      produced++;
      if (batch.measurements.length >= batchSize) {
        yield batch;
        batch = { runs: [], measurements: [] };
      }
    }
    unit++;
  }
  if (batch.measurements.length > 0 || batch.runs.length > 0) yield batch;
}
