// The configuration: its shape and the defaults that work with no file at
// all. Loading (file, environment, flags) and validation live in load.ts.
import type { ProbeKind, ProbeOptions } from '../../probes/types.js';
import { scheduleProbes } from '../experiments/registry.js';

export interface ScheduleConfig {
  /** Probe kinds this schedule runs. */
  probes: ProbeKind[];
  /** Seconds between sweeps. */
  everyS: number;
  /** Random extra delay before each sweep, 0..jitterS seconds, so fleets do not sweep in lockstep. */
  jitterS: number;
  /** Concurrent measurements at most (global p-limit cap for this schedule). */
  concurrency: number;
}

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 secret for the X-Rasad-Signature header. */
  secret?: string;
  /** At most this many alerts a minute to this destination. */
  maxPerMinute?: number;
}

export interface Config {
  /** SQLite database path. */
  db: string;
  /** Targets file path. */
  targets: string;
  /** Web probes hourly; the long-lived ones every 6 h, with their own concurrency. */
  schedules: { web: ScheduleConfig; long: ScheduleConfig };
  /** Concurrent measurements per host at most. */
  perHostConcurrency: number;
  /** Hard deadline for one measurement (an AbortSignal fires then). */
  measurementDeadlineMs: number;
  probe: ProbeOptions;
  /** Control helper URLs (OONI test-helper protocol), tried in order. Empty: no control. */
  controls: string[];
  /** Retries of a failing web measurement before it may be called an anomaly. */
  retries: number;
  /** Consecutive sweeps that must agree before a new state is confirmed. */
  confirmSweeps: number;
  webhooks: WebhookConfig[];
  /** Local dashboard, /metrics and JSON API. */
  http: { enabled: boolean; bind: string; port: number; token?: string; perTargetMetrics: boolean };
  /** Probe circumvention-tool targets (tag `circumvention`) only when the volunteer opted in. */
  probeCircumvention: boolean;
  /** Upload to an OONI-compatible collector (ooni/spec bk-003). Off by default; README's safety section says what is sent. */
  collector: { url: string; enabled: boolean };
  /** OONI export metadata; withheld (AS0/ZZ) unless set. */
  probeAsn: string;
  probeCc: string;
  /** Raw records older than this many days are compacted; verdicts and events are kept. */
  retentionDays: number;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; pretty: boolean | 'auto' };
}

/**
 * OONI's public Web Connectivity test helpers, tried in order: the
 * web-connectivity list OONI's bouncer serves (ooni/probe-cli
 * internal/probeservices, as of 2026). A
 * volunteer gets a control with no setup; `controls: []`, RASAD_CONTROL=none
 * or --no-control turn it off. README's safety section says what they learn.
 */
export const OONI_TEST_HELPERS: readonly string[] = ['https://0.th.ooni.org/', 'https://1.th.ooni.org/', 'https://2.th.ooni.org/', 'https://3.th.ooni.org/'];

/** A common browser's User-Agent: the probe should not stand out on the wire. */
export const BROWSER_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  timeoutMs: 10_000,
  // The system's resolver is always asked; this one is the raw UDP client's.
  // Default 127.0.0.53-style local stub is not assumed: the UDP probe uses the
  // first nameserver of /etc/resolv.conf when this is empty.
  resolver: '',
  dohUrl: null,
  dnsListenWindowMs: 1_000,
  innocuousSni: 'example.org',
  bodyCapBytes: 64 * 1024,
  bodyReadLimitBytes: 4 * 1024 * 1024,
  userAgent: BROWSER_USER_AGENT,
  sessionHorizonMs: 150_000,
  sessionIntervalMs: 5_000,
  throughputBytes: 1024 * 1024,
  throughputMaxMs: 30_000,
  maxAddresses: 4,
};

export function defaultConfig(): Config {
  return {
    db: './data/rasad.db',
    targets: 'targets.txt',
    schedules: {
      web: { probes: scheduleProbes('web'), everyS: 3600, jitterS: 300, concurrency: 20 },
      long: { probes: scheduleProbes('long'), everyS: 6 * 3600, jitterS: 600, concurrency: 8 },
    },
    perHostConcurrency: 2,
    measurementDeadlineMs: 60_000,
    probe: { ...DEFAULT_PROBE_OPTIONS },
    controls: [...OONI_TEST_HELPERS],
    retries: 2,
    confirmSweeps: 2,
    webhooks: [],
    http: { enabled: true, bind: '127.0.0.1', port: 9478, perTargetMetrics: false },
    probeCircumvention: false,
    collector: { url: '', enabled: false },
    probeAsn: 'AS0',
    probeCc: 'ZZ',
    retentionDays: 90,
    log: { level: 'info', pretty: 'auto' },
  };
}
