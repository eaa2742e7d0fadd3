import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { nextDelayMs, Scheduler, type Schedule } from '../src/scheduler.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('nextDelayMs', () => {
  it('keeps the jitter within [0, jitter) on top of the due time', () => {
    const now = Date.parse('2026-11-01T12:00:00Z');
    // Never swept: at once, jitter or not.
    expect(nextDelayMs(null, 3600, 300, now, () => 0.999999)).toBe(0);
    expect(nextDelayMs(new Date(now - 3_600_000), 3600, 300, now, () => 0.999999)).toBe(299_999);
    const last = new Date(now - 600_000);
    expect(nextDelayMs(last, 3600, 300, now, () => 0)).toBe(3_000_000);
    for (let i = 0; i < 1000; i++) {
      const d = nextDelayMs(last, 3600, 300, now, Math.random);
      expect(d).toBeGreaterThanOrEqual(3_000_000);
      expect(d).toBeLessThan(3_300_000);
    }
  });

  it('waits at most one interval when the last start is in the future (stamped by a clock that ran ahead, then was set back)', () => {
    const now = Date.parse('2026-11-01T12:00:00Z');
    // A Pi booted with its clock ten days ahead, swept, and NTP then set the clock right.
    const stampedAhead = new Date(now + 10 * 24 * 3600_000);
    expect(nextDelayMs(stampedAhead, 3600, 0, now, Math.random)).toBe(3_600_000);
    expect(nextDelayMs(stampedAhead, 3600, 300, now, () => 0.5)).toBe(3_750_000);
    // A year ahead: still one interval (and never a delay past setTimeout's 2^31-1 ms).
    expect(nextDelayMs(new Date(now + 365 * 24 * 3600_000), 6 * 3600, 600, now, () => 0.999999)).toBeLessThan(6 * 3600_000 + 600_000);
  });

  it('resumes after a long outage with one sweep due now, not a burst of catch-ups', () => {
    const now = Date.parse('2026-11-01T12:00:00Z');
    const lastWeek = new Date(now - 7 * 24 * 3600_000);
    expect(nextDelayMs(lastWeek, 3600, 0, now, Math.random)).toBe(0);
  });
});

function countingSchedule(name: string, everyS: number, sweepMs: number, log: { start: number; end: number }[], lastStartedAt: Date | null = null): Schedule {
  return {
    name,
    everyS,
    jitterS: 0,
    lastStartedAt,
    async sweep(signal) {
      const entry = { start: Date.now(), end: 0 };
      log.push(entry);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sweepMs);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      entry.end = Date.now();
    },
  };
}

describe('Scheduler', () => {
  it('sweeps on its cadence', async () => {
    const log: { start: number; end: number }[] = [];
    const scheduler = new Scheduler([countingSchedule('web', 0.1, 5, log)], { logger });
    scheduler.start();
    await sleep(560);
    await scheduler.stop();
    // One at once, then every 100 ms: about six in 560 ms. Loose bounds: this asserts a cadence, not a speed.
    expect(log.length).toBeGreaterThanOrEqual(3);
    expect(log.length).toBeLessThanOrEqual(7);
  });

  it('holds sweeps while the clock is before 2025 (a Pi before NTP), says so once, and sweeps once the clock is set', async () => {
    const log: { start: number; end: number }[] = [];
    const clock = { now: Date.parse('1970-01-01T00:00:05Z') };
    const lines: { level: number; msg: string }[] = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const scheduler = new Scheduler([countingSchedule('web', 3600, 5, log), countingSchedule('long', 3600, 5, log)], { logger: capture, now: () => clock.now, clockRecheckMs: 20 });
    scheduler.start();
    await sleep(150);
    expect(log).toHaveLength(0);
    expect(lines.filter((l) => /system clock is before 2025/.test(l.msg))).toHaveLength(1);
    clock.now = Date.parse('2026-11-01T12:00:00Z');
    await sleep(150);
    await scheduler.stop();
    // Both schedules swept once the clock was right, and not more: their next is an hour away.
    expect(log).toHaveLength(2);
    expect(lines.filter((l) => /clock is set: sweeps resume/.test(l.msg))).toHaveLength(1);
  });

  it('never overlaps a sweep with the next one of the same schedule', async () => {
    const log: { start: number; end: number }[] = [];
    // A sweep (120 ms) longer than the interval (50 ms).
    const scheduler = new Scheduler([countingSchedule('web', 0.05, 120, log)], { logger });
    scheduler.start();
    await sleep(600);
    await scheduler.stop();
    expect(log.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < log.length; i++) expect(log[i]!.start).toBeGreaterThanOrEqual(log[i - 1]!.end);
  });

  it('does not sweep at start when the last run is recent', async () => {
    const log: { start: number; end: number }[] = [];
    const scheduler = new Scheduler([countingSchedule('long', 3600, 5, log, new Date())], { logger });
    scheduler.start();
    await sleep(100);
    await scheduler.stop();
    expect(log).toHaveLength(0);
  });

  it('stop() lets an in-flight sweep finish and schedules nothing after it', async () => {
    const log: { start: number; end: number }[] = [];
    const scheduler = new Scheduler([countingSchedule('web', 0.01, 150, log)], { logger, graceMs: 5_000 });
    scheduler.start();
    await sleep(30);
    expect(scheduler.isRunning('web')).toBe(true);
    await scheduler.stop();
    expect(log).toHaveLength(1);
    expect(log[0]!.end).toBeGreaterThan(0);
    expect(log[0]!.end - log[0]!.start).toBeGreaterThanOrEqual(140);
    await sleep(50);
    expect(log).toHaveLength(1);
  });

  it('aborts an in-flight sweep when the grace period runs out', async () => {
    const log: { start: number; end: number }[] = [];
    const scheduler = new Scheduler([countingSchedule('long', 1, 60_000, log)], { logger, graceMs: 50 });
    scheduler.start();
    await sleep(20);
    await scheduler.stop();
    expect(log).toHaveLength(1);
    expect(log[0]!.end - log[0]!.start).toBeLessThan(10_000);
  });
});
