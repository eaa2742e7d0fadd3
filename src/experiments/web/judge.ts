// The verdict of one web unit (the dns/tcp/tls/http probes of one URL), from
// its attempts and the control's answer. Each attempt's records become facts
// (facts.ts); the layers then read them in order (DNS, TCP, TLS, HTTP) and the
// first that shows blocking decides. Any attempt that comes out clean clears
// the unit (Censored Planet: a success clears a failing measurement). Without
// a control, only positive evidence decides (a fingerprint, a bogon, the
// innocuous-SNI comparison, a certificate that validates); everything else is
// inconclusive. Pure: no I/O, no clock.
import type { ProbeResult } from '../../../probes/types.js';
import type { AttemptResults, JudgeOptions, UnitObservation } from '../../analysis/observation.js';
import { BLOCKING_VERDICTS, type VerdictResult } from '../../model.js';
import { dnsConsistency } from './consistency.js';
import { controlFacts, controlSummary } from './control.js';
import { dnsLayer } from './dns-layer.js';
import { finalHttpHop, webFacts, webInput, type WebFacts, type WebInput } from './facts.js';
import { httpLayer } from './http-layer.js';
import { inconclusive, type Judgement, type LayerContext } from './judgement.js';
import { tcpLayer, tlsLayer } from './transport-layers.js';

export function judgeWebUnit(unit: UnitObservation, options: JudgeOptions): VerdictResult {
  const input = webInput(unit.url);
  const attempts = Array.isArray(unit.attempts) ? unit.attempts : [];
  const control = controlSummary(unit.control);
  const base = { control, control_failed: unit.controlFailed === true };
  if (attempts.length === 0) {
    return { verdict: 'inconclusive', verdict_reason: 'No attempt was recorded for this URL.', evidence: { ...base, attempts: [] } };
  }
  const judgements = attempts.map((attempt) => judgeAttempt(attempt ?? {}, input, unit, options));
  const perAttempt = attempts.map((attempt, i) => ({ ...attemptFailures(attempt ?? {}), verdict: judgements[i]!.verdict }));
  const evidence = (index: number, extra: Record<string, unknown>) => ({
    ...base,
    attempts: perAttempt,
    decided_by_attempt: index,
    timings: attemptTimings(attempts[index] ?? {}),
    ...extra,
  });

  const clean = judgements.findIndex((j) => j.verdict === 'ok');
  if (clean >= 0) {
    const j = judgements[clean]!;
    const failed = judgements.length > 1 && clean > 0 ? ` (after ${clean} failing attempt${clean > 1 ? 's' : ''}: a success clears them)` : '';
    return { verdict: 'ok', verdict_reason: j.reason + failed, evidence: evidence(clean, j.evidence) };
  }

  const lastIndex = judgements.length - 1;
  const last = judgements[lastIndex]!;
  if (BLOCKING_VERDICTS.has(last.verdict) && !last.positive) {
    const disagreeing = judgements.slice(0, -1).filter((j) => BLOCKING_VERDICTS.has(j.verdict) && j.verdict !== last.verdict);
    if (disagreeing.length > 0) {
      const seen = [...new Set(judgements.map((j) => j.verdict))].join(', ');
      return {
        verdict: 'inconclusive',
        verdict_reason: `Contradictory retries: the attempts point at different blockings (${seen}).`,
        evidence: evidence(lastIndex, { ...last.evidence, contradictory_verdicts: judgements.map((j) => j.verdict) }),
      };
    }
  }
  return { verdict: last.verdict, verdict_reason: last.reason, evidence: evidence(lastIndex, last.evidence) };
}

function judgeAttempt(attempt: AttemptResults, input: WebInput, unit: UnitObservation, options: JudgeOptions): Judgement {
  if (!input.url) return inconclusive(`The input "${input.input}" is not a URL.`, {});
  const facts: WebFacts = webFacts(attempt, input);
  const control = controlFacts(unit.control);
  const ctx: LayerContext = {
    input,
    facts,
    control,
    controlFailed: unit.controlFailed === true,
    consistency: input.hostIsIp ? { state: 'consistent', by: 'address', detail: { reason: 'the input is an address' } } : dnsConsistency(facts, control, options.asnOf),
    fingerprints: options.fingerprints,
    timeoutMs: options.probeTimeoutMs ?? null,
    nonexistentName: options.nonexistentName ?? null,
  };
  return dnsLayer(ctx) ?? tcpLayer(ctx) ?? tlsLayer(ctx) ?? httpLayer(ctx);
}

/** Failures of each probe in one attempt, as the evidence records them. */
export function attemptFailures(attempt: AttemptResults): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [kind, result] of Object.entries(attempt)) {
    if (result && typeof result === 'object') out[kind] = (result as ProbeResult).failure ?? null;
  }
  return out;
}

/** The timings of one attempt, as the evidence records the deciding attempt's. */
export function attemptTimings(attempt: AttemptResults): Record<string, unknown> {
  const final = finalHttpHop(attempt);
  const connects = (attempt.tcp?.details as { connects?: { connect_ms?: number | null }[] } | undefined)?.connects;
  const handshakes = (attempt.tls?.details as { handshakes?: { handshake_ms?: number | null }[] } | undefined)?.handshakes;
  return {
    runtime_ms: Object.fromEntries(Object.entries(attempt).filter(([, r]) => r && typeof r === 'object').map(([k, r]) => [k, (r as ProbeResult).runtime_ms])),
    tcp_connect_ms: Array.isArray(connects) ? connects.map((c) => c?.connect_ms ?? null) : [],
    tls_handshake_ms: Array.isArray(handshakes) ? handshakes.filter(Boolean).map((h) => h.handshake_ms) : [],
    http: final ? final.timings : null,
  };
}
