// Prometheus metrics, written in the text exposition format (version 0.0.4)
// without a client library: counters, gauges and one histogram. Label values
// come from fixed vocabularies (probe kinds, verdicts, event kinds), so the
// number of series stays bounded; a per-URL gauge exists only when the
// volunteer turns it on (config.http.perTargetMetrics).
import { PROBE_KINDS } from '../experiments/registry.js';
import { EVENT_KINDS, VERDICTS, type Measurement, type StoredEvent } from '../model.js';

type Labels = Record<string, string>;

/** The label set as a stable key (label names in declaration order). */
function seriesKey(names: readonly string[], labels: Labels): string {
  return JSON.stringify(names.map((n) => labels[n] ?? ''));
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(names: readonly string[], values: string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[],
  ) {}
  protected header(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
  }
  abstract render(): string[];
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'counter', labelNames);
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) return; // a counter never goes down; NaN is ignored too
    const key = seriesKey(this.labelNames, labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(seriesKey(this.labelNames, labels)) ?? 0;
  }
  render(): string[] {
    return [...this.header(), ...[...this.values].map(([k, v]) => `${this.name}${labelText(this.labelNames, JSON.parse(k))} ${formatValue(v)}`)];
  }
}

export class Gauge extends Metric {
  private values = new Map<string, number>();
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, 'gauge', labelNames);
  }
  set(labels: Labels, value: number): void {
    this.values.set(seriesKey(this.labelNames, labels), value);
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(seriesKey(this.labelNames, labels));
  }
  /** Series held. */
  size(): number {
    return this.values.size;
  }
  /** Replaces every series at once (for gauges recomputed from a snapshot). */
  replaceAll(series: { labels: Labels; value: number }[]): void {
    this.values = new Map(series.map((s) => [seriesKey(this.labelNames, s.labels), s.value]));
  }
  render(): string[] {
    return [...this.header(), ...[...this.values].map(([k, v]) => `${this.name}${labelText(this.labelNames, JSON.parse(k))} ${formatValue(v)}`)];
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram', labelNames);
  }
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = seriesKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i] += 1;
    });
    s.sum += value;
    s.count += 1;
  }
  render(): string[] {
    const lines = this.header();
    for (const [k, s] of this.series) {
      const values = JSON.parse(k) as string[];
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', formatValue(le)])} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    }
    return lines;
  }
}

const PROBE_SET: ReadonlySet<string> = new Set(PROBE_KINDS);
const VERDICT_SET: ReadonlySet<string> = new Set(VERDICTS);
const EVENT_SET: ReadonlySet<string> = new Set(EVENT_KINDS);
const TARGET_STATES: ReadonlySet<string> = new Set([...VERDICTS, 'pending']);

/** A value from a fixed vocabulary, or "other": an unexpected value can never add series without bound. */
function bounded(value: unknown, allowed: ReadonlySet<string>): string {
  return typeof value === 'string' && allowed.has(value) ? value : 'other';
}

/** Schedule names come from the config: short identifiers only. */
function scheduleLabel(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(value) ? value : 'other';
}

/** Control helper series at most. */
const CONTROL_HELPERS_MAX = 32;

/** A helper URL as a label: scheme, host, port and path only (no credentials or query, which may hold a key). */
function helperLabel(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return `${u.protocol}//${u.host}${u.pathname}`.slice(0, 200);
  } catch {
    return null;
  }
}

export interface MetricsOptions {
  http?: { perTargetMetrics?: boolean };
}

export class Metrics {
  readonly measurements = new Counter('rasad_measurements_total', 'Measurements stored, by probe and verdict.', ['probe', 'verdict']);
  readonly targets = new Gauge(
    'rasad_targets',
    'Units (an input, i.e. a URL or tcp:// endpoint, times an experiment measuring it) per state: the confirmed verdict; pending while a change is being confirmed; down, inconclusive, network.offline, network.captive or site.geoblocked for one never confirmed and last seen so.',
    ['state'],
  );
  readonly targetState = new Gauge('rasad_target_state', 'The confirmed state of each input (1). Only with http.perTargetMetrics.', ['url', 'kind', 'state']);
  readonly sweepDuration = new Histogram('rasad_sweep_duration_seconds', 'Duration of sweeps, by schedule.', ['schedule'], [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]);
  readonly sweeps = new Counter('rasad_sweeps_total', 'Sweeps finished, by schedule and result.', ['schedule', 'result']);
  readonly lastSuccessfulSweep = new Gauge('rasad_last_successful_sweep_timestamp_seconds', 'Unix time of the end of the last complete sweep, by schedule.', ['schedule']);
  readonly alertFailures = new Counter('rasad_alert_delivery_failures_total', 'Failed webhook delivery attempts, by destination (its index in the config).', ['destination_index']);
  readonly alertsPending = new Gauge('rasad_alerts_pending', 'Alerts waiting in the outbox, by destination.', ['destination_index']);
  readonly events = new Counter('rasad_events_total', 'Change events detected, by kind.', ['kind']);
  readonly controlUp = new Gauge('rasad_control_up', 'Whether each control helper answered in the last sweep that asked it (1) or not (0); a helper never asked has no series.', ['url']);
  private readonly perTarget: boolean;

  constructor(
    options: MetricsOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.perTarget = options.http?.perTargetMetrics === true;
  }

  recordMeasurements(ms: Pick<Measurement, 'probe' | 'verdict'>[]): void {
    for (const m of ms ?? []) this.measurements.inc({ probe: bounded(m?.probe, PROBE_SET), verdict: bounded(m?.verdict, VERDICT_SET) });
  }

  recordSweep(schedule: string, durationS: number, ok: boolean): void {
    const label = scheduleLabel(schedule);
    this.sweepDuration.observe({ schedule: label }, durationS);
    this.sweeps.inc({ schedule: label, result: ok ? 'complete' : 'incomplete' });
    if (ok) this.lastSuccessfulSweep.set({ schedule: label }, Math.floor(this.clock() / 1000));
  }

  recordEvents(events: Pick<StoredEvent, 'kind'>[]): void {
    for (const e of events) this.events.inc({ kind: bounded(e.kind, EVENT_SET) });
  }

  /** The current state of every input, recomputed after each sweep. */
  setTargetStates(inputs: { url: string; kind: string; state: string }[]): void {
    const counts = new Map<string, number>();
    for (const i of inputs) {
      const state = bounded(i.state, TARGET_STATES);
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    this.targets.replaceAll([...counts].map(([state, value]) => ({ labels: { state }, value })));
    if (this.perTarget) {
      this.targetState.replaceAll(inputs.map((i) => ({ labels: { url: i.url, kind: i.kind, state: bounded(i.state, TARGET_STATES) }, value: 1 })));
    }
  }

  /** The control's health in one sweep (null when it asked none): the last word on each helper asked. */
  recordControl(control: { helpers: { url: string; up: boolean }[] } | null | undefined): void {
    for (const helper of control?.helpers ?? []) {
      const url = helperLabel(helper?.url);
      if (url === null) continue;
      // Helpers come from the config, so few; the cap only guards against a bug feeding URLs without bound.
      if (this.controlUp.get({ url }) === undefined && this.controlUp.size() >= CONTROL_HELPERS_MAX) continue;
      this.controlUp.set({ url }, helper.up === true ? 1 : 0);
    }
  }

  recordAlertFailure(destinationIndex: number): void {
    this.alertFailures.inc({ destination_index: String(destinationIndex) });
  }

  setAlertsPending(destinationIndex: number, pending: number): void {
    this.alertsPending.set({ destination_index: String(destinationIndex) }, pending);
  }

  render(): string {
    const metrics: Metric[] = [
      this.measurements,
      this.targets,
      this.sweepDuration,
      this.sweeps,
      this.lastSuccessfulSweep,
      this.alertFailures,
      this.alertsPending,
      this.events,
      this.controlUp,
    ];
    if (this.perTarget) metrics.push(this.targetState);
    return metrics.map((m) => m.render().join('\n')).join('\n') + '\n';
  }
}
