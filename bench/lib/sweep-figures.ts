// What the sweep bench reads back from a sweep's database, and the figures
// it derives: the critical path of one target (from the stored timings of a
// serial run) and the ideal time of a concurrent sweep. Pure functions
// apart from readSweepDb, so they are tested without a namespace.
import Database from 'better-sqlite3';

export interface StoredTiming {
  url: string;
  probe: string;
  started_at: string;
  runtime_ms: number;
}

export interface SweepDbFigures {
  measurements: number;
  runStatus: string | null;
  /** The sweep's own duration (runs.summary.duration_s): from planning to the last verdict, without the process's startup. */
  sweepS: number | null;
  unitsMeasured: number | null;
  verdicts: Record<string, number>;
  timings: StoredTiming[];
}

/** Reads one `rasad once` database (read-only). It must hold exactly one run. */
export function readSweepDb(file: string): SweepDbFigures {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const runs = db.prepare(`SELECT status, summary FROM runs`).all() as { status: string; summary: string | null }[];
    if (runs.length !== 1) throw new Error(`${file}: expected one run, found ${runs.length}`);
    const run = runs[0]!;
    let summary: { duration_s?: unknown; measured?: unknown } = {};
    try {
      summary = run.summary ? (JSON.parse(run.summary) as typeof summary) : {};
    } catch {
      summary = {};
    }
    const measurements = (db.prepare(`SELECT count(*) AS n FROM measurements`).get() as { n: number }).n;
    const verdicts: Record<string, number> = {};
    for (const row of db.prepare(`SELECT verdict, count(*) AS n FROM measurements GROUP BY verdict ORDER BY n DESC`).all() as { verdict: string; n: number }[]) {
      verdicts[row.verdict] = row.n;
    }
    const timings = db.prepare(`SELECT url, probe, started_at, runtime_ms FROM measurements ORDER BY id`).all() as StoredTiming[];
    return {
      measurements,
      runStatus: run.status,
      sweepS: typeof summary.duration_s === 'number' ? summary.duration_s : null,
      unitsMeasured: typeof summary.measured === 'number' ? summary.measured : null,
      verdicts,
      timings,
    };
  } finally {
    db.close();
  }
}

export interface UnitSpan {
  url: string;
  /** From the first probe's start to the last probe's end, seconds. */
  spanS: number;
  /** Each probe's runtime, seconds. */
  probeS: Record<string, number>;
}

/** One span per web unit (URL): its probes ran one after the other, so the span is the unit's critical path. */
export function unitSpans(timings: StoredTiming[]): UnitSpan[] {
  const byUrl = new Map<string, StoredTiming[]>();
  for (const t of timings) byUrl.set(t.url, [...(byUrl.get(t.url) ?? []), t]);
  const spans: UnitSpan[] = [];
  for (const [url, rows] of byUrl) {
    const starts = rows.map((r) => Date.parse(r.started_at));
    const ends = rows.map((r, i) => starts[i]! + r.runtime_ms);
    if (starts.some((s) => !Number.isFinite(s)) || ends.some((e) => !Number.isFinite(e))) continue;
    spans.push({
      url,
      spanS: (Math.max(...ends) - Math.min(...starts)) / 1000,
      probeS: Object.fromEntries(rows.map((r) => [r.probe, r.runtime_ms / 1000])),
    });
  }
  return spans;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface CriticalPath {
  /** Median unit span, seconds. */
  unitS: number;
  /** Median runtime of each probe, seconds. */
  probeS: Record<string, number>;
  units: number;
}

/** The critical path of one target: the median over the units of a serial sweep (so one warm-up unit does not decide it). */
export function criticalPath(timings: StoredTiming[]): CriticalPath {
  const spans = unitSpans(timings);
  const probes = [...new Set(spans.flatMap((s) => Object.keys(s.probeS)))];
  return {
    unitS: median(spans.map((s) => s.spanS)),
    probeS: Object.fromEntries(probes.map((p) => [p, median(spans.flatMap((s) => (s.probeS[p] === undefined ? [] : [s.probeS[p]!])))])),
    units: spans.length,
  };
}

/** The time a perfect scheduler needs: full waves of `concurrency` targets, each wave one critical path long. */
export function idealSeconds(targets: number, concurrency: number, criticalPathS: number): number {
  return Math.ceil(targets / Math.max(1, concurrency)) * criticalPathS;
}

/**
 * The longest unit of a serial run (concurrency 1): the gap between one
 * unit's first probe and the next unit's, retries and waits included. No
 * sweep can end before its longest unit. Units are told apart by URL.
 */
export function longestUnitSeconds(timings: StoredTiming[]): number {
  const firstStart = new Map<string, number>();
  for (const t of timings) {
    const at = Date.parse(t.started_at);
    if (Number.isFinite(at) && at < (firstStart.get(t.url) ?? Infinity)) firstStart.set(t.url, at);
  }
  const starts = [...firstStart.values()].sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < starts.length; i++) longest = Math.max(longest, (starts[i]! - starts[i - 1]!) / 1000);
  return longest;
}

/** The work-based ideal: the serial run's unit-seconds over the concurrency, but never less than the longest unit. */
export function workIdealSeconds(units: number, concurrency: number, unitS: number, longestS: number): number {
  return Math.max((units * unitS) / Math.max(1, concurrency), longestS);
}
