// The shared vocabulary of the web layers: what one attempt's judgement is,
// and the context every layer reads.
import type { Fingerprints } from '../../analysis/fingerprints.js';
import type { Verdict } from '../../model.js';
import type { DnsConsistency } from './consistency.js';
import type { ControlFacts } from './control.js';
import type { WebFacts, WebInput } from './facts.js';

/** One attempt's outcome. `positive`: decided by evidence that needs no control (fingerprint, bogon, innocuous SNI, validated TLS). */
export interface Judgement {
  verdict: Verdict;
  reason: string;
  evidence: Record<string, unknown>;
  positive: boolean;
}

export interface LayerContext {
  input: WebInput;
  facts: WebFacts;
  control: ControlFacts | null;
  /** A control was configured but none answered. */
  controlFailed: boolean;
  consistency: DnsConsistency;
  fingerprints: Fingerprints;
  /** The probe's per-phase timeout, when known (slow-server judgement). */
  timeoutMs: number | null;
  /** The local resolvers' answer for a name that exists nowhere, when the sweep asked (JudgeOptions.nonexistentName). */
  nonexistentName: { name: string; addresses: string[] } | null;
}

export function judgement(verdict: Verdict, reason: string, evidence: Record<string, unknown>, positive: boolean): Judgement {
  return { verdict, reason, evidence, positive };
}

export function inconclusive(reason: string, evidence: Record<string, unknown>): Judgement {
  return judgement('inconclusive', reason, evidence, false);
}

export function noControl(ctx: LayerContext): string {
  return ctx.controlFailed ? 'no control helper answered' : 'there is no control';
}

export function summarizeFailures(items: { failure: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const item of items) {
    const f = item.failure ?? 'no failure';
    counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return [...counts].map(([f, n]) => (n > 1 ? `${f} ×${n}` : f)).join(', ');
}
