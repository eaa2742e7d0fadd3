// Scenarios as data (lab/scenarios/*.json): the censor's rules, the targets,
// rasad's config overrides, the probes, and the verdict expected for each
// (url, probe). Loading validates everything and names the file in errors;
// comparing is pure.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ProbeKind } from '../probes/types.js';
import { PROBE_KINDS } from '../src/experiments/registry.js';
import { EVENT_KINDS, VERDICTS, type Verdict } from '../src/model.js';
import { planCensor, ScenarioError, type CensorSpec, type WorldSpec } from './censor.js';

export interface Range {
  min?: number;
  max?: number;
}

/**
 * A verdict, or a verdict (or any of several: `anyOf`) with bounds on numbers
 * found in the exported record, the failure each probe recorded, and words
 * its verdict_reason must contain (`reason`, case-insensitive).
 */
export type Expected =
  | Verdict
  | { verdict?: Verdict; anyOf?: Verdict[]; cut_after_s?: Range; ratio?: Range; failures?: Record<string, string | null>; reason?: string };

/** An expectation object for one (url, probe), as opposed to a probe -> expectation map. */
export function isExpectationObject(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ('verdict' in e || 'anyOf' in e);
}

export interface Scenario {
  name: string;
  description: string;
  /** The scenario's verdicts rest on the control helper: it fails when the helper is not running. */
  needsControl: boolean;
  /** Which resolver the client uses (system and --resolver): world's by default, domestic's in a shutdown. */
  resolver: 'world' | 'domestic' | 'rewriting';
  censor: CensorSpec;
  world: WorldSpec;
  /** targets.txt lines. */
  targets: string[];
  /** rasad config overrides (JSON, merged over the lab's defaults). */
  config: Record<string, unknown>;
  probes: ProbeKind[];
  /** url -> one expectation for every probe of that URL, or probe -> expectation. */
  expect: Record<string, Expected | Partial<Record<ProbeKind, Expected>>>;
  /** The verdict (or any of several) every measurement not named in `expect` must have (unset: those are not checked). */
  others?: Verdict | { anyOf: Verdict[] };
  /** How many times the scenario suite runs it (the noise runs: 5). */
  repeat: number;
  /** Event kinds (`rasad export --events`) the run must have raised. */
  events: string[];
  /** Where it was loaded from. */
  file?: string;
}

const SCENARIO_KEYS = ['name', 'description', 'needsControl', 'resolver', 'censor', 'world', 'targets', 'config', 'probes', 'expect', 'others', 'repeat', 'events'];

function isVerdict(v: unknown): v is Verdict {
  return typeof v === 'string' && (VERDICTS as readonly string[]).includes(v);
}


function checkRange(r: unknown, where: string): void {
  if (typeof r !== 'object' || r === null) throw new ScenarioError(`${where} must be {"min": n, "max": n}`);
  for (const [k, v] of Object.entries(r)) {
    if ((k !== 'min' && k !== 'max') || typeof v !== 'number') throw new ScenarioError(`${where}: ${k} must be min or max with a number`);
  }
}

function checkExpected(e: unknown, where: string): void {
  if (isVerdict(e)) return;
  if (isExpectationObject(e)) {
    const o = e as Record<string, unknown>;
    if (('verdict' in o) === ('anyOf' in o)) throw new ScenarioError(`${where}: give either verdict or anyOf`);
    if ('verdict' in o && !isVerdict(o.verdict)) throw new ScenarioError(`${where}: ${JSON.stringify(o.verdict)} is not a verdict of rasad (src/model.ts)`);
    if ('anyOf' in o && (!Array.isArray(o.anyOf) || o.anyOf.length === 0 || !o.anyOf.every(isVerdict))) {
      throw new ScenarioError(`${where}.anyOf: a non-empty list of verdicts of rasad (src/model.ts)`);
    }
    for (const k of Object.keys(o)) {
      if (k === 'verdict' || k === 'anyOf') continue;
      if (k === 'reason') {
        if (typeof o[k] !== 'string' || o[k] === '') throw new ScenarioError(`${where}.reason: words the verdict_reason must contain`);
        continue;
      }
      if (k === 'failures') {
        const f = o[k];
        if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new ScenarioError(`${where}.failures: a map of probe kind to failure string (or null)`);
        for (const [probe, failure] of Object.entries(f)) {
          if (!(PROBE_KINDS as readonly string[]).includes(probe)) throw new ScenarioError(`${where}.failures: unknown probe ${probe}`);
          if (failure !== null && typeof failure !== 'string') throw new ScenarioError(`${where}.failures.${probe}: a failure string or null`);
        }
        continue;
      }
      if (k !== 'cut_after_s' && k !== 'ratio') throw new ScenarioError(`${where}: unknown key ${k}`);
      checkRange(o[k], `${where}.${k}`);
    }
    return;
  }
  throw new ScenarioError(`${where}: ${JSON.stringify(e)} is not a verdict of rasad (src/model.ts)`);
}

/** Validates a parsed scenario; throws ScenarioError naming the problem. */
export function validateScenario(raw: unknown, file = '(inline)'): Scenario {
  const fail = (msg: string): never => {
    throw new ScenarioError(`${file}: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a scenario is a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SCENARIO_KEYS.includes(k)) fail(`unknown key ${JSON.stringify(k)}`);
  if (typeof o.name !== 'string' || !/^[a-z0-9-]+$/.test(o.name)) fail('name must be lower-case words joined by dashes');
  if (!Array.isArray(o.targets) || o.targets.length === 0 || !o.targets.every((t) => typeof t === 'string')) fail('targets must be a non-empty list of targets.txt lines');
  if (!Array.isArray(o.probes) || o.probes.length === 0 || !o.probes.every((p) => (PROBE_KINDS as readonly string[]).includes(p as string))) {
    fail(`probes must be a non-empty list of ${PROBE_KINDS.join(', ')}`);
  }
  if (typeof o.expect !== 'object' || o.expect === null || Array.isArray(o.expect) || Object.keys(o.expect).length === 0) fail('expect must map urls to verdicts');
  for (const [url, e] of Object.entries(o.expect as Record<string, unknown>)) {
    const byProbe = typeof e === 'object' && e !== null && !isExpectationObject(e);
    if (byProbe) {
      for (const [probe, pe] of Object.entries(e as Record<string, unknown>)) {
        if (!(PROBE_KINDS as readonly string[]).includes(probe)) fail(`expect[${url}]: ${probe} is not a probe kind`);
        try {
          checkExpected(pe, `expect[${url}].${probe}`);
        } catch (err) {
          fail((err as Error).message);
        }
      }
    } else {
      try {
        checkExpected(e, `expect[${url}]`);
      } catch (err) {
        fail((err as Error).message);
      }
    }
  }
  const othersAnyOf = typeof o.others === 'object' && o.others !== null && Object.keys(o.others).join() === 'anyOf' ? (o.others as { anyOf: unknown }).anyOf : null;
  if (o.others !== undefined && !isVerdict(o.others) && !(Array.isArray(othersAnyOf) && othersAnyOf.length > 0 && othersAnyOf.every(isVerdict))) {
    fail(`others: ${JSON.stringify(o.others)} is not a verdict or {"anyOf": [verdicts]}`);
  }
  if (o.resolver !== undefined && o.resolver !== 'world' && o.resolver !== 'domestic' && o.resolver !== 'rewriting') fail('resolver must be world, domestic or rewriting');
  if (o.config !== undefined && (typeof o.config !== 'object' || o.config === null || Array.isArray(o.config))) fail('config must be an object');
  if (o.repeat !== undefined && (!Number.isInteger(o.repeat) || (o.repeat as number) < 1 || (o.repeat as number) > 20)) fail('repeat must be 1..20');
  const knownEvents: readonly string[] = EVENT_KINDS;
  if (o.events !== undefined && (!Array.isArray(o.events) || !o.events.every((k) => typeof k === 'string' && knownEvents.includes(k)))) {
    fail(`events must be a list of event kinds (${knownEvents.join(', ')})`);
  }
  const scenario: Scenario = {
    name: o.name as string,
    description: typeof o.description === 'string' ? o.description : '',
    needsControl: o.needsControl !== false,
    resolver: (o.resolver as Scenario['resolver']) ?? 'world',
    censor: (o.censor ?? {}) as CensorSpec,
    world: (o.world ?? {}) as WorldSpec,
    targets: o.targets as string[],
    config: (o.config ?? {}) as Record<string, unknown>,
    probes: o.probes as ProbeKind[],
    expect: o.expect as Scenario['expect'],
    others: o.others as Scenario['others'],
    repeat: (o.repeat as number | undefined) ?? 1,
    events: (o.events as string[] | undefined) ?? [],
    file,
  };
  try {
    planCensor(scenario.censor, scenario.world); // every rule must be one the censor can apply
  } catch (err) {
    fail((err as Error).message);
  }
  return scenario;
}

/** A scenario named on the command line: a path, or a name in lab/scenarios/. */
export function resolveScenarioFile(nameOrPath: string, repoRoot: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/')) return isAbsolute(nameOrPath) ? nameOrPath : resolve(repoRoot, nameOrPath);
  const file = join(repoRoot, 'lab', 'scenarios', `${nameOrPath}.json`);
  if (existsSync(file)) return file;
  throw new ScenarioError(`no scenario ${JSON.stringify(nameOrPath)} in lab/scenarios/`);
}

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read the scenario: ${(err as Error).message}`);
  }
  return validateScenario(raw, file);
}

// ---------------------------------------------------------------------------
// Comparing the export with the expectations.

/** One line of `rasad export --format jsonl`, as far as the lab reads it. */
export interface ExportedRow {
  url?: unknown;
  probe?: unknown;
  verdict?: unknown;
  [k: string]: unknown;
}

export interface ComparisonRow {
  target: string;
  probe: string;
  expected: string;
  got: string;
  ok: boolean;
  /** For a mismatch: what the measurement itself said (its failure and verdict reason), so a CI log shows why. */
  said?: string;
}

/** The failure and the verdict reason of an exported row, shortened: the first thing to read about a mismatch. */
function whatItSaid(row: ExportedRow): string {
  const reason = String(row.verdict_reason ?? '');
  return `failure ${String(row.failure ?? 'null')}; reason "${reason.length > 160 ? `${reason.slice(0, 157)}...` : reason}"`;
}

export function normalizeUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url.trim().toLowerCase();
  }
}

/** The first number stored under `key` anywhere in a record (the export nests evidence and details). */
export function findNumber(value: unknown, key: string, depth = 0): number | null {
  if (depth > 8 || typeof value !== 'object' || value === null) return null;
  const o = value as Record<string, unknown>;
  if (typeof o[key] === 'number') return o[key] as number;
  for (const v of Object.values(o)) {
    const found = findNumber(v, key, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

function expectedFor(scenario: Scenario, url: string, probe: string): Expected | undefined {
  for (const [u, e] of Object.entries(scenario.expect)) {
    if (normalizeUrl(u) !== normalizeUrl(url)) continue;
    if (typeof e === 'object' && e !== null && !isExpectationObject(e)) return (e as Record<string, Expected>)[probe];
    return e as Expected;
  }
  return undefined;
}

function describe(e: Expected): string {
  if (typeof e === 'string') return e;
  const bounds = (['cut_after_s', 'ratio'] as const)
    .filter((k) => e[k])
    .map((k) => `${k} in [${e[k]!.min ?? '-inf'}, ${e[k]!.max ?? 'inf'}]`);
  const failures = Object.entries(e.failures ?? {}).map(([probe, f]) => `${probe}:${f ?? 'null'}`);
  const head = e.anyOf ? `one of ${e.anyOf.join('|')}` : e.verdict!;
  return [head, ...bounds, ...failures, ...(e.reason ? [`reason~"${e.reason}"`] : [])].join(' ');
}

function matches(e: Expected, row: ExportedRow): { ok: boolean; got: string } {
  const verdict = String(row.verdict ?? 'missing');
  if (typeof e === 'string') return { ok: verdict === e, got: verdict };
  let ok = e.anyOf ? (e.anyOf as string[]).includes(verdict) : verdict === e.verdict;
  const notes: string[] = [];
  if (e.reason) {
    const reason = String(row.verdict_reason ?? '');
    if (!reason.toLowerCase().includes(e.reason.toLowerCase())) {
      ok = false;
      notes.push(`reason="${reason.slice(0, 160)}"`);
    }
  }
  for (const key of ['cut_after_s', 'ratio'] as const) {
    const range = e[key];
    if (!range) continue;
    const n = findNumber(row, key);
    notes.push(`${key}=${n ?? 'none'}`);
    if (n === null || (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) ok = false;
  }
  // The failure string the probe recorded (OONI's names), where the scenario names one for this row's probe.
  const probe = String(row.probe ?? '');
  if (e.failures && probe in e.failures) {
    const failure = (row.failure ?? null) as string | null;
    notes.push(`${probe}:${failure ?? 'null'}`);
    if (failure !== e.failures[probe]) ok = false;
  }
  return { ok, got: [verdict, ...notes].join(' ') };
}

/** The expected (url, probe) pairs: explicit ones, and for a URL-wide verdict every probe the scenario runs. */
function expectedPairs(scenario: Scenario): Array<{ url: string; probe: string; expected: Expected }> {
  const pairs: Array<{ url: string; probe: string; expected: Expected }> = [];
  for (const [url, e] of Object.entries(scenario.expect)) {
    if (typeof e === 'object' && e !== null && !isExpectationObject(e)) {
      for (const [probe, pe] of Object.entries(e as Record<string, Expected>)) pairs.push({ url, probe, expected: pe });
    } else {
      for (const probe of scenario.probes) {
        // A URL-wide verdict covers the probes that apply to it; which ones ran is read from the export.
        pairs.push({ url, probe, expected: e as Expected });
      }
    }
  }
  return pairs;
}

/**
 * Every exported row checked against its expectation. An explicit (url, probe)
 * expectation with no row is a mismatch ("missing"); a URL-wide one needs at
 * least one row for the URL.
 */
export function compareRows(scenario: Scenario, rows: ExportedRow[]): ComparisonRow[] {
  const out: ComparisonRow[] = [];
  const seenPairs = new Set<string>();
  const seenUrls = new Set<string>();
  for (const row of rows) {
    const url = String(row.url ?? '');
    const probe = String(row.probe ?? '');
    seenPairs.add(`${normalizeUrl(url)} ${probe}`);
    seenUrls.add(normalizeUrl(url));
    const e = expectedFor(scenario, url, probe);
    if (e === undefined) {
      if (scenario.others !== undefined) {
        const got = String(row.verdict ?? 'missing');
        const allowed: string[] = typeof scenario.others === 'string' ? [scenario.others] : scenario.others.anyOf;
        const ok = allowed.includes(got);
        out.push({ target: url, probe, expected: `${allowed.join('|')} (others)`, got, ok, ...(ok ? {} : { said: whatItSaid(row) }) });
      } else {
        out.push({ target: url, probe, expected: '(not checked)', got: String(row.verdict ?? 'missing'), ok: true });
      }
      continue;
    }
    const m = matches(e, row);
    out.push({ target: url, probe, expected: describe(e), got: m.got, ok: m.ok, ...(m.ok ? {} : { said: whatItSaid(row) }) });
  }
  for (const [url, e] of Object.entries(scenario.expect)) {
    const explicit = typeof e === 'object' && e !== null && !isExpectationObject(e);
    if (explicit) {
      for (const { probe, expected } of expectedPairs({ ...scenario, expect: { [url]: e } })) {
        if (!seenPairs.has(`${normalizeUrl(url)} ${probe}`)) out.push({ target: url, probe, expected: describe(expected), got: 'missing', ok: false });
      }
    } else if (!seenUrls.has(normalizeUrl(url))) {
      out.push({ target: url, probe: '*', expected: describe(e as Expected), got: 'missing', ok: false });
    }
  }
  return out;
}

/** One row per event kind the scenario expects: raised by the run (`rasad export --events`) or not. */
export function compareEvents(scenario: Scenario, events: ExportedRow[]): ComparisonRow[] {
  const kinds = events.map((e) => String(e.kind ?? ''));
  return scenario.events.map((kind) => ({
    target: '(events)',
    probe: '-',
    expected: `event ${kind}`,
    got: kinds.includes(kind) ? `event ${kind}` : `no ${kind} (events: ${[...new Set(kinds)].join(', ') || 'none'})`,
    ok: kinds.includes(kind),
  }));
}

export function formatTable(rows: ComparisonRow[]): string {
  const header = { target: 'target', probe: 'probe', expected: 'expected', got: 'got' };
  const all = [header, ...rows];
  const w = (k: keyof typeof header) => Math.max(...all.map((r) => r[k].length));
  const line = (r: typeof header, mark: string) =>
    `${r.target.padEnd(w('target'))} | ${r.probe.padEnd(w('probe'))} | ${r.expected.padEnd(w('expected'))} | ${r.got}${mark}`;
  return [line(header, ''), ...rows.map((r) => line(r, r.ok ? '' : `   <-- MISMATCH${r.said ? ` (${r.said})` : ''}`))].join('\n');
}
