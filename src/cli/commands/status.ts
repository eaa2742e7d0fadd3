// `rasad status`: whether the network and the control are usable, what each
// count counts, the current state of each input grouped by category with
// since-when, and the recent change events. Opens the database read-only, so
// it is safe next to a running daemon; plain text that reads well in a pipe
// or a log (colour only on a terminal), or --json.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { eventText, shortDuration, shortTime } from '../../alerts/text.js';
import { defaultConfig } from '../../config/schema.js';
import { shownState } from '../../http/input-state.js';
import { readTargets, type ControlView, type CountsView, type KindState, type RunView, type TargetView, type TargetsView } from '../../http/read-model.js';
import type { StoredEvent } from '../../model.js';
import { Store } from '../../store/store.js';
import { defineCommand, UsageError } from '../command.js';
import { DB_FLAG } from '../common-flags.js';

const EVENTS_DEFAULT = 10;
const EVENTS_MAX = 1000;

export const statusCommand = defineCommand(
  {
    name: 'status',
    summary: 'show the current state of each target and the recent events',
    description: `Shows the network's state, whether the control answers, the last web and
long-lived sweeps, the current state of each input (grouped by category,
with since when) and the recent change events. The database is opened
read-only.`,
    flags: {
      db: DB_FLAG,
      limit: { type: 'integer', min: 0, max: EVENTS_MAX, default: EVENTS_DEFAULT, help: 'recent events to show, 0 for none' },
      json: { type: 'boolean', help: 'one JSON document instead of text' },
    },
  },
  async ({ flags: values }, io) => {
    const limit = values.limit;
    // As the daemon finds it: --db, else RASAD_DB (the Docker image sets it), else the default.
    const given = values.db ?? (io.env.RASAD_DB || undefined) ?? defaultConfig().db;
    const file = isAbsolute(given) ? given : join(io.cwd, given);
    if (!existsSync(file)) throw new UsageError(`rasad status: ${given}: no such database (run 'rasad once' or 'rasad run' first, or pass --db or set RASAD_DB)`);

    const store = Store.openReadOnly(file);
    let view: TargetsView;
    let events: StoredEvent[];
    try {
      view = readTargets(store);
      events = limit > 0 ? store.recentEvents(limit) : [];
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code?.startsWith('SQLITE_')) throw new UsageError(`rasad status: ${given}: not a rasad database, or unreadable (${e.message})`);
      throw err;
    } finally {
      store.close();
    }

    if (values.json) {
      io.stdout.write(`${JSON.stringify({ database: file, ...view, events: events.map((e) => ({ ...e, text: eventText(e) })) }, null, 2)}\n`);
      return 0;
    }
    const color = io.stdout.isTTY === true && !io.env.NO_COLOR;
    io.stdout.write(formatStatus(file, view, events, { color, now: new Date() }));
    return 0;
  },
);

const STATUS_WORD: Record<TargetView['status'], string> = { blocked: 'BLOCKED', ok: 'ok', pending: 'pending', other: 'other' };
const ANSI: Record<TargetView['status'], string> = { blocked: '\x1b[31m', ok: '\x1b[32m', pending: '\x1b[90m', other: '\x1b[33m' };

/** What a status line shows: the read model's state, or for an input whose change is being confirmed, what it may become. */
interface InputLine {
  status: TargetView['status'];
  state: string;
}

const kindOrder = ([a]: [string, KindState], [b]: [string, KindState]) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b));

export function inputLine(input: TargetView): InputLine {
  if (input.state !== 'pending') return { status: input.status, state: input.state };
  const kinds = Object.entries(input.kinds).sort(kindOrder);
  const streak = kinds.find(([, k]) => k.pending)?.[1].pending;
  // A change is being confirmed: pending, with the verdict it may become.
  if (streak) return { status: 'pending', state: `${streak.verdict}? (${streak.count}×)` };
  const latest = kinds.find(([, k]) => k.last_verdict)?.[1].last_verdict ?? null;
  // Down (or inconclusive) on every sweep: never confirmed, but not "pending" either.
  const shown = shownState({ confirmed: null, changing: false, lastVerdict: latest });
  if (shown !== 'pending') return { status: 'other', state: shown };
  return { status: 'pending', state: latest ? `${latest}?` : 'not measured' };
}

/** One long-lived kind of an input, as "throughput: throttled". */
function kindText(kind: string, s: KindState): string {
  if (s.pending) return `${kind}: pending (${s.pending.verdict}? ${s.pending.count}×)`;
  const shown = shownState({ confirmed: s.confirmed, changing: false, lastVerdict: s.last_verdict });
  return `${kind}: ${shown === 'pending' ? 'not measured' : shown}`;
}

function runText(label: string, run: RunView | null): string {
  return run ? `last ${label} sweep ${shortTime(run.started_at)} (${run.status}, ${run.units} units)` : `no ${label} sweep yet`;
}

/** The control line: whether verdicts that need a control can be trusted now. */
export function controlText(control: ControlView): string {
  const helpers = control.helpers.map((h) => (h.up ? `${h.url} up` : `${h.url} ${h.failure ?? 'down'}`)).join('; ');
  const checked = control.last_checked;
  if (control.state === 'down') {
    const since = control.since ? ` since ${shortTime(control.since)}` : '';
    return `control: DOWN, no control answers${since}: verdicts that need it are inconclusive${control.recovering ? ' (answering again, not yet confirmed)' : ''}${helpers ? ` [${helpers}]` : ''}`;
  }
  if (control.state === 'unknown') return 'control: not asked yet (none configured, or no web sweep since it was)';
  const answered = checked ? `, ${checked.answered} of ${checked.asked} queries answered in the sweep of ${shortTime(checked.at)}` : '';
  const since = control.since ? ` since ${shortTime(control.since)}` : '';
  return `control: answering${since}${answered}${helpers ? ` [${helpers}]` : ''}`;
}

/** What each number counts: targets expand into inputs; each input is one unit per experiment that measures it. */
export function countsText(counts: CountsView): string[] {
  const perKind = Object.entries(counts.units).sort(([a], [b]) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b)));
  const units = perKind.reduce((sum, [, n]) => sum + n, 0);
  const split = perKind.map(([kind, n]) => `${kind} ${n}`).join(', ');
  return [
    `counts: ${counts.targets} targets → ${counts.inputs} inputs (URLs, tcp:// endpoints) → ${units} units (input × experiment${split ? `: ${split}` : ''})`,
    '        targets: lines of the targets file measured so far (circumvention-tagged ones only with probeCircumvention on); /metrics rasad_targets counts units',
  ];
}

export function formatStatus(file: string, view: TargetsView, events: StoredEvent[], opts: { color: boolean; now: Date }): string {
  const paint = (status: TargetView['status'], text: string) => (opts.color ? `${ANSI[status]}${text}\x1b[0m` : text);
  const lines: string[] = [`rasad status: ${file}`];
  const network = view.network.mode === 'normal' ? 'normal' : `${view.network.mode.toUpperCase()} since ${shortTime(view.network.since ?? '')}`;
  const shown = new Map(view.categories.flatMap((c) => c.inputs.map((i) => [i, inputLine(i)] as const)));
  const t = { inputs: shown.size, ok: 0, blocked: 0, pending: 0, other: 0 };
  for (const line of shown.values()) t[line.status] += 1;
  lines.push(`network: ${network} · ${runText('web', view.last_run)} · ${runText('long', view.last_long_run)}`);
  lines.push(controlText(view.control));
  lines.push(...countsText(view.counts));
  lines.push(`${t.inputs} inputs: ${t.blocked} blocked, ${t.ok} ok, ${t.pending} pending (a change being confirmed)${t.other ? `, ${t.other} other (down, inconclusive, offline or geoblocked on every sweep)` : ''}`);
  if (view.categories.some((c) => c.inputs.some((i) => i.unconfirmed))) {
    lines.push('(no change detection has run on this database: these are the latest verdicts, not confirmed states)');
  }
  lines.push('');
  if (view.categories.length === 0) lines.push('No measurements yet.');
  const urlWidth = Math.min(60, Math.max(10, ...view.categories.flatMap((c) => c.inputs.map((i) => i.url.length))));
  const stateWidth = Math.max(17, ...[...shown.values()].map((l) => l.state.length));
  const row = (status: string, state: string, url: string, rest: string) => `  ${status} ${state.padEnd(stateWidth)} ${url.padEnd(urlWidth)}  ${rest}`;
  if (view.categories.length > 0) lines.push(row('STATUS  ', 'STATE', 'INPUT', 'SINCE').trimEnd());
  for (const category of view.categories) {
    lines.push(`${category.category} (${category.inputs.length})`);
    for (const input of category.inputs) {
      const { status, state } = shown.get(input)!;
      const since = `since ${shortTime(input.since)} (${shortDuration((opts.now.getTime() - Date.parse(input.since)) / 1000)})`;
      const tags = input.tags.length ? ` [${input.tags.join(', ')}]` : '';
      const others = Object.entries(input.kinds)
        .filter(([kind]) => kind !== 'web')
        .map(([kind, s]) => kindText(kind, s));
      const extra = others.length ? `  {${others.join('; ')}}` : '';
      lines.push(row(paint(status, STATUS_WORD[status].padEnd(8)), state, input.url, `${since}${tags}${extra}`));
    }
  }
  lines.push('');
  if (events.length) {
    lines.push(`Recent events (newest first, ${events.length}):`);
    for (const e of events) lines.push(`  ${shortTime(e.at)}  ${e.kind.padEnd(16)} ${eventText(e)}`);
  } else {
    lines.push('No change events.');
  }
  return `${lines.join('\n')}\n`;
}
