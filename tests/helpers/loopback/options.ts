// Probe inputs for tests: the defaults with short timeouts, and a resolver
// that must be a loopback server (never the resolv.conf default, which
// points outside this machine).
import type { ProbeInput, ProbeOptions } from '../../../probes/types.js';
import { DEFAULT_PROBE_OPTIONS } from '../../../src/config/schema.js';

export function testOptions(overrides: Partial<ProbeOptions> & { resolver: string }): ProbeOptions {
  if (!/^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$/.test(overrides.resolver)) throw new Error(`tests must use a loopback resolver, not ${overrides.resolver}`);
  return { ...DEFAULT_PROBE_OPTIONS, timeoutMs: 2_000, dnsListenWindowMs: 300, dohUrl: null, ...overrides };
}

/** Options for probes that never touch DNS (tcp/tls/http with addresses given): the resolver is a dead loopback port. */
export function noDnsOptions(overrides: Partial<ProbeOptions> = {}): ProbeOptions {
  return testOptions({ resolver: '127.0.0.1:9', ...overrides });
}

export function probeInput(url: string, addresses: string[], options: ProbeOptions): ProbeInput {
  return { target: { raw: url, category: 'MISC', tags: [], inputs: [url] }, url, addresses, options };
}

export const never = (): AbortSignal => new AbortController().signal;
