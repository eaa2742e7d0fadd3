// Generated measurements full of what could make a stored record differ from
// its export line: addresses in error strings (some only uncovered by a
// second pass), probe-address keys, arrays of error strings, keys a plain
// object hides or moves ("__proto__", "constructor", "7"), times not as
// toISOString writes them, missing contract fields, Dates, NaN, -0 and
// shuffled key orders. Every one is still insertable (its columns are valid).
import fc from 'fast-check';
import type { Measurement } from '../../src/model.js';

export const GENERATED_RUN = 'run-generated';

const ipText = fc.oneof(fc.ipV4(), fc.ipV6()).map((ip) => `connect ECONNREFUSED ${ip}:443`);
const awkwardText = fc.constantFrom(
  'generic_timeout_error',
  'x "q" 10.0.0.1',
  'a\\b 10.0.0.2',
  '::1',
  'fe80::1.2.3.4.5',
  'local (192.168.1.23:51234) \u2028 done',
  'خطا در اتصال به 5.6.7.8',
  '\ud800 lone 10.1.1.1',
);
const key = fc.oneof(
  fc.constantFrom(
    'failure', 'x_failure', 'control_failure', 'error', 'errors', 'message', 'reason', 'failures', 'terror', 'title', 'ip',
    'probe_ip', 'local_address', 'source_ip', '__proto__', 'constructor', 'toString', '7', '0', 'a"b', 'k\\',
  ),
  fc.string({ maxLength: 6 }),
);
const leaf = fc.oneof(
  ipText,
  awkwardText,
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: true }),
);
export const jsonishTree = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
})).node;

const canonicalTime = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
// Times the export rewrites (a zone, no milliseconds) or passes on (not a time at all).
const otherTime = fc.constantFrom('2025-06-01T13:30:00+03:30', '2025-06-01T10:00:00Z', '2025-06-01 10:00:00', 'yesterday', '');

const OPTIONAL_FIELDS = ['failure', 'failed_operation', 'details', 'evidence', 'control', 'tags'] as const;

/** A measurement that the store accepts (its columns are valid) with anything inside. */
export const generatedMeasurement: fc.Arbitrary<Measurement> = fc
  .tuple(
    fc.record({
      // The table's NOT NULL columns.
      measurement_id: fc.uuid(),
      target: fc.string({ minLength: 1, maxLength: 12 }),
      url: fc.webUrl(),
      probe: fc.constantFrom('dns', 'tcp', 'tls', 'http', 'throughput'),
      category: fc.constantFrom('NEWS', 'GRP', 'ANON'),
      started_at: fc.oneof({ weight: 4, arbitrary: canonicalTime }, { weight: 1, arbitrary: otherTime }),
      runtime_ms: fc.double({ noNaN: true, noDefaultInfinity: true }),
      verdict: fc.constantFrom('ok', 'dns.injected', 'tls.reset'),
      verdict_reason: fc.oneof(ipText, awkwardText, fc.string()),
      // The other contract fields: one of them is missing now and then (the export writes null).
      failure: fc.oneof(ipText, awkwardText, fc.constant(null)),
      failed_operation: fc.constantFrom(null, 'connect', 'tls_handshake'),
      details: jsonishTree,
      evidence: jsonishTree,
      control: fc.oneof(fc.constant(null), jsonishTree),
      tags: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
    }),
    fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...OPTIONAL_FIELDS) }),
    fc.dictionary(key, jsonishTree, { maxKeys: 3 }),
  )
  .chain(([fields, missing, extra]) => {
    const kept: Record<string, unknown> = { ...fields };
    if (missing !== null) delete kept[missing];
    // Contract fields and extra keys in any order, as a sweep or a future probe might build them.
    const entries = [...Object.entries(extra).filter(([k]) => !Object.hasOwn(fields, k)), ...Object.entries(kept)];
    return fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length });
  })
  .map((entries) => ({ ...Object.fromEntries(entries), run_id: GENERATED_RUN }) as unknown as Measurement);
