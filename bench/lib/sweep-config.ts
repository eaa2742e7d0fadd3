// The configuration under which a sweep's critical path is known (bench/sweep.ts,
// bench/bundled.ts): no listening for late DNS answers, no retries, no
// control (so nothing is sent to OONI's helpers), no webhooks, no dashboard.
export const FIXED_PATH_CONFIG = {
  probe: { dnsListenWindowMs: 0, timeoutMs: 5000 },
  retries: 0,
  perHostConcurrency: 2,
  controls: [],
  webhooks: [],
  http: { enabled: false },
} as const;
