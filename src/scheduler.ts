// The daemon's clock: each schedule sweeps every `everyS` seconds plus a
// random jitter, never overlapping itself. After a restart it resumes from
// the last stored run: one sweep when it is due, never a burst of catch-ups.
import type { Logger } from 'pino';

export interface Schedule {
  name: string;
  everyS: number;
  jitterS: number;
  /** When this schedule last started a sweep (from the store), or null. */
  lastStartedAt: Date | null;
  sweep(signal: AbortSignal): Promise<unknown>;
}

export interface SchedulerOptions {
  logger: Logger;
  now?: () => number;
  /** Random number in [0, 1); injectable so tests can check the jitter bounds. */
  random?: () => number;
  /** After stop(), how long in-flight sweeps may run before they are aborted. */
  graceMs?: number;
  /** While the clock is implausible, how often it is looked at again (default 60 s). */
  clockRecheckMs?: number;
}

/**
 * Before this the system clock is surely wrong: a Raspberry Pi has no
 * real-time clock and boots in 1970 (or at the time it last saved) until
 * NTP answers. A measurement stamped then carries a time no researcher can
 * use, and retention would soon compact it as ancient.
 */
export const EARLIEST_PLAUSIBLE_TIME_MS = Date.parse('2025-01-01T00:00:00Z');

/** Is `ms` a time this build could be running at? */
export function plausibleClock(ms: number): boolean {
  return ms >= EARLIEST_PLAUSIBLE_TIME_MS;
}

/**
 * The delay before a schedule's next sweep: due time (last + every, or now)
 * plus jitter, never negative, and never more than one interval plus jitter.
 */
export function nextDelayMs(lastStartedAt: Date | null, everyS: number, jitterS: number, now: number, random: () => number): number {
  // A fresh install sweeps at once, so the volunteer sees it work; after that, jitter keeps fleets out of lockstep.
  if (!lastStartedAt) return 0;
  const due = lastStartedAt.getTime() + everyS * 1000;
  // A last start after `now` was stamped by a clock that ran ahead (a Raspberry Pi has no real-time
  // clock: it boots with a guessed time until NTP sets it). Waiting for that due time would leave the
  // probe silent for as long as the clock was wrong; one interval from now is the most it waits.
  const wait = Math.min(Math.max(0, due - now), everyS * 1000);
  return wait + Math.floor(random() * jitterS * 1000);
}

function formatDelay(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly abort = new AbortController();
  private stopped = false;
  private clockWarned = false;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly schedules: Schedule[],
    private readonly options: SchedulerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    for (const schedule of this.schedules) this.arm(schedule, schedule.lastStartedAt);
  }

  /** Whether a sweep of this schedule is running. */
  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  private arm(schedule: Schedule, last: Date | null): void {
    if (this.stopped) return;
    const delay = nextDelayMs(last, schedule.everyS, schedule.jitterS, this.now(), this.random);
    this.options.logger.info({ schedule: schedule.name, in_s: Math.round(delay / 1000) }, `next ${schedule.name} sweep in ${formatDelay(delay)}`);
    this.timers.set(schedule.name, setTimeout(() => this.fire(schedule), delay));
  }

  private fire(schedule: Schedule): void {
    this.timers.delete(schedule.name);
    if (this.stopped) return;
    if (!plausibleClock(this.now())) {
      if (!this.clockWarned) {
        this.clockWarned = true;
        this.options.logger.warn(
          { clock: new Date(this.now()).toISOString() },
          'the system clock is before 2025: sweeps wait until it is set (NTP), so that no measurement is stamped with a wrong time',
        );
      }
      this.timers.set(schedule.name, setTimeout(() => this.fire(schedule), this.options.clockRecheckMs ?? 60_000));
      return;
    }
    if (this.clockWarned) {
      this.clockWarned = false;
      this.options.logger.info({ clock: new Date(this.now()).toISOString() }, 'the system clock is set: sweeps resume');
    }
    const startedAt = new Date(this.now());
    const run = schedule
      .sweep(this.abort.signal)
      .catch((err: Error) => this.options.logger.error({ schedule: schedule.name, err: err.message }, 'sweep failed'))
      .finally(() => {
        this.running.delete(schedule.name);
        // The next sweep is due `everyS` after this one started; a sweep longer than that is followed at once, not overlapped.
        this.arm(schedule, startedAt);
      });
    this.running.set(schedule.name, run);
  }

  /** Stops scheduling; waits for in-flight sweeps, aborting them after the grace period. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    const inFlight = [...this.running.values()];
    if (inFlight.length === 0) return;
    const grace = setTimeout(() => this.abort.abort(new Error('shutting down')), this.options.graceMs ?? 10_000);
    await Promise.allSettled(inFlight);
    clearTimeout(grace);
  }

  /** Aborts in-flight sweeps now (a second signal). */
  abortNow(): void {
    this.abort.abort(new Error('shutting down'));
  }
}
