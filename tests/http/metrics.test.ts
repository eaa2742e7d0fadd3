// The Prometheus exposition: parsed back line by line, every sample checked
// against the values recorded, label cardinality bounded.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/http/metrics.js';
import { parseExposition, type Sample } from './exposition.js';

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;
}

describe('Metrics exposition', () => {
  it('renders counters, gauges and a cumulative histogram with the recorded values', () => {
    const metrics = new Metrics({ http: { perTargetMetrics: false } }, () => 1_700_000_123_456);
    metrics.recordMeasurements([
      { probe: 'dns', verdict: 'ok' },
      { probe: 'dns', verdict: 'ok' },
      { probe: 'http', verdict: 'http.blockpage' },
      { probe: 'carrier-pigeon' as never, verdict: 'made-up' as never },
    ]);
    metrics.recordSweep('web', 12.5, true);
    metrics.recordSweep('web', 14, true);
    metrics.recordSweep('long', 700, false);
    metrics.recordEvents([{ kind: 'blocked' }, { kind: 'blocked' }, { kind: 'shutdown' }]);
    metrics.recordAlertFailure(1);
    metrics.setTargetStates([
      { url: 'https://a/', kind: 'web', state: 'ok' },
      { url: 'https://b/', kind: 'web', state: 'tls.reset' },
      { url: 'https://c/', kind: 'web', state: 'pending' },
      { url: 'https://c/', kind: 'throughput', state: 'throttled' },
      { url: 'https://d/', kind: 'web', state: 'ok' },
    ]);

    const { samples, types, helps } = parseExposition(metrics.render());
    expect(types.get('rasad_measurements_total')).toBe('counter');
    expect(types.get('rasad_targets')).toBe('gauge');
    expect(types.get('rasad_sweep_duration_seconds')).toBe('histogram');
    expect(helps.get('rasad_events_total')).toMatch(/events/);

    expect(value(samples, 'rasad_measurements_total', { probe: 'dns', verdict: 'ok' })).toBe(2);
    expect(value(samples, 'rasad_measurements_total', { probe: 'http', verdict: 'http.blockpage' })).toBe(1);
    // Unknown labels collapse to "other": no series per junk value.
    expect(value(samples, 'rasad_measurements_total', { probe: 'other', verdict: 'other' })).toBe(1);

    expect(value(samples, 'rasad_sweep_duration_seconds_bucket', { schedule: 'web', le: '5' })).toBe(0);
    expect(value(samples, 'rasad_sweep_duration_seconds_bucket', { schedule: 'web', le: '15' })).toBe(2);
    expect(value(samples, 'rasad_sweep_duration_seconds_bucket', { schedule: 'web', le: '+Inf' })).toBe(2);
    expect(value(samples, 'rasad_sweep_duration_seconds_sum', { schedule: 'web' })).toBe(26.5);
    expect(value(samples, 'rasad_sweep_duration_seconds_count', { schedule: 'web' })).toBe(2);
    expect(value(samples, 'rasad_sweep_duration_seconds_bucket', { schedule: 'long', le: '600' })).toBe(0);
    expect(value(samples, 'rasad_sweep_duration_seconds_bucket', { schedule: 'long', le: '1200' })).toBe(1);
    // Buckets are cumulative: never decreasing with le.
    const webBuckets = samples.filter((s) => s.name === 'rasad_sweep_duration_seconds_bucket' && s.labels.schedule === 'web').map((s) => s.value);
    expect(webBuckets).toEqual([...webBuckets].sort((a, b) => a - b));

    expect(value(samples, 'rasad_last_successful_sweep_timestamp_seconds', { schedule: 'web' })).toBe(1_700_000_123);
    expect(value(samples, 'rasad_last_successful_sweep_timestamp_seconds', { schedule: 'long' })).toBeUndefined();
    expect(value(samples, 'rasad_sweeps_total', { schedule: 'long', result: 'incomplete' })).toBe(1);
    expect(value(samples, 'rasad_events_total', { kind: 'blocked' })).toBe(2);
    expect(value(samples, 'rasad_events_total', { kind: 'shutdown' })).toBe(1);
    expect(value(samples, 'rasad_alert_delivery_failures_total', { destination_index: '1' })).toBe(1);
    expect(value(samples, 'rasad_targets', { state: 'ok' })).toBe(2);
    expect(value(samples, 'rasad_targets', { state: 'tls.reset' })).toBe(1);
    expect(value(samples, 'rasad_targets', { state: 'pending' })).toBe(1);
    expect(value(samples, 'rasad_targets', { state: 'throttled' })).toBe(1);
    // No URL label by default.
    expect(samples.some((s) => 'url' in s.labels)).toBe(false);
  });

  it('the per-target gauge exists only when enabled, replaces old series, and escapes label values', () => {
    const metrics = new Metrics({ http: { perTargetMetrics: true } });
    metrics.setTargetStates([{ url: 'https://old/', kind: 'web', state: 'ok' }]);
    const odd = 'https://x/?q="quoted"\\back\nslash';
    metrics.setTargetStates([
      { url: odd, kind: 'web', state: 'dns.injected' },
      { url: 'https://y/', kind: 'web', state: 'ok' },
    ]);
    const text = metrics.render();
    expect(text).toContain('url="https://x/?q=\\"quoted\\"\\\\back\\nslash"');
    const { samples } = parseExposition(text);
    const perTarget = samples.filter((s) => s.name === 'rasad_target_state');
    expect(perTarget.map((s) => [s.labels.url, s.labels.state, s.value])).toEqual([
      [odd, 'dns.injected', 1],
      ['https://y/', 'ok', 1],
    ]);
    expect(value(samples, 'rasad_targets', { state: 'ok' })).toBe(1);
  });
});
