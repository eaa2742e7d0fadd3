// The protocol-filter verdict must not mistake a strict server for a filter:
// a web server that answers junk with 400 and closes is not dropping packets.
import { describe, expect, it } from 'vitest';
import type { ProtocolFlowResult, Target } from '../../probes/types.js';
import { judgeSweep, type UnitObservation } from '../../src/analysis/verdict.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';

const target: Target = { raw: 'http://site.test/', category: 'NEWS', tags: [], inputs: ['http://site.test/'] };

function unit(junk: Partial<ProtocolFlowResult>): UnitObservation {
  const valid: ProtocolFlowResult = { kind: 'valid_first', port: 80, failure: null, later_data_flows: true, bytes_sent: 60, bytes_received: 300, writes_sent: 3, first_byte_after_write: 3 };
  const junkFlow: ProtocolFlowResult = { kind: 'junk_first', port: 80, failure: null, later_data_flows: false, bytes_sent: 70, bytes_received: 0, writes_sent: 3, first_byte_after_write: null, ...junk };
  return {
    kind: 'protocol',
    target,
    url: target.inputs[0]!,
    control: null,
    controlFailed: false,
    attempts: [{ protocol: { probe: 'protocol', started_at: '2026-11-21T00:00:00.000Z', runtime_ms: 2000, failure: junkFlow.failure, failed_operation: junkFlow.failure ? 'read' : null, details: { ip: '192.0.2.9', flows: [valid, junkFlow] } } }],
  };
}

const judge = (u: UnitObservation) => judgeSweep([u], { fingerprints: defaultFingerprints() })[0]!;

describe('protocol filter verdict', () => {
  it('calls a silent junk-first flow filtered when the long-lived control\'s junk flow to the same endpoint flows from outside', () => {
    const u = unit({ failure: 'generic_timeout_error' });
    const outside: ProtocolFlowResult = { kind: 'junk_first', port: 80, failure: null, later_data_flows: true, bytes_sent: 70, bytes_received: 70 };
    u.longControl = { result: { probe: 'protocol', started_at: '2026-11-21T00:00:00.000Z', runtime_ms: 2000, failure: null, failed_operation: null, details: { ip: '192.0.2.9', flows: [outside] } }, helper: 'http://helper.test/', noEndpoint: false, failures: [] };
    expect(judge(u).verdict).toBe('protocol.filtered');
  });

  it('does not call one server silent on junk filtered: no control and no second endpoint corroborate it', () => {
    const v = judge(unit({ failure: 'generic_timeout_error' }));
    expect(v.verdict).toBe('inconclusive');
    expect(v.evidence.long_control).toBe('no long-lived control');
  });

  it('does not call it filtered when the control\'s junk flow goes silent from outside too', () => {
    const u = unit({ failure: 'generic_timeout_error' });
    const outside: ProtocolFlowResult = { kind: 'junk_first', port: 80, failure: 'generic_timeout_error', later_data_flows: false, bytes_sent: 70, bytes_received: 0 };
    u.longControl = { result: { probe: 'protocol', started_at: '2026-11-21T00:00:00.000Z', runtime_ms: 2000, failure: null, failed_operation: null, details: { ip: '192.0.2.9', flows: [outside] } }, helper: 'http://helper.test/', noEndpoint: false, failures: [] };
    expect(judge(u).verdict).toBe('inconclusive');
  });

  it('does not call a server that answers junk and closes a filter', () => {
    const v = judge(unit({ failure: 'eof_error', bytes_received: 120, first_byte_after_write: 1 }));
    expect(v.verdict).toBe('inconclusive');
    expect(v.evidence.strict_server_ports).toEqual([80]);
    expect(judge(unit({ failure: 'connection_reset', bytes_received: 0 })).verdict).toBe('inconclusive');
  });

  it('calls junk that flows like valid data ok', () => {
    expect(judge(unit({ later_data_flows: true, bytes_received: 70, first_byte_after_write: 1 })).verdict).toBe('ok');
  });
});
