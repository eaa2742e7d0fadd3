// rasad's own experiments, which OONI has no test for, as OONI measurements
// under their own test names (README.md "Export for researchers" documents the keys):
// a long-lived TLS session (the 60-second cut), a throughput download, the
// protocol filter. Their test_keys are the probe's details as recorded, plus
// the verdict fields every rasad export carries.
import type { ProbeKind } from '../../../probes/types.js';
import type { Measurement } from '../../model.js';
import { parseStoredTime } from '../time.js';

export const RASAD_TEST_VERSION = '0.1.0';

/** The OONI test name of each long-lived probe kind. */
export const RASAD_TEST_NAMES: Partial<Record<ProbeKind, string>> = {
  tls_duration: 'rasad_tls_duration',
  throughput: 'rasad_throughput',
  protocol: 'rasad_protocol_filter',
};

/** A web unit whose input is a bare endpoint (tcp://ip:port) is no web_connectivity measurement: it has no URL to fetch. */
export const TCP_REACHABILITY_TEST_NAME = 'rasad_tcp_reachability';

export interface RasadTestKeys {
  testKeys: Record<string, unknown>;
  startMs: number;
  runtimeS: number;
}

/** The test_keys of one long-lived probe's measurement. */
export function rasadTestKeys(m: Measurement): RasadTestKeys {
  const details = m.details && typeof m.details === 'object' && !Array.isArray(m.details) ? (m.details as Record<string, unknown>) : {};
  const runtimeMs = typeof m.runtime_ms === 'number' && Number.isFinite(m.runtime_ms) ? m.runtime_ms : 0;
  return {
    testKeys: {
      ...details,
      failure: m.failure ?? null,
      failed_operation: m.failed_operation ?? null,
      ...(m.control ? { control: m.control } : {}),
      x_rasad_verdict: m.verdict ?? 'inconclusive',
      x_rasad_verdict_reason: m.verdict_reason ?? '',
      x_rasad_evidence: m.evidence ?? {},
      x_rasad_target: m.target ?? null,
      x_rasad_category: m.category ?? null,
      x_rasad_tags: Array.isArray(m.tags) ? m.tags : [],
      x_rasad_measurement_ids: [m.measurement_id],
    },
    startMs: parseStoredTime(m.started_at) ?? 0,
    runtimeS: Math.round(runtimeMs * 1000) / 1e6,
  };
}
