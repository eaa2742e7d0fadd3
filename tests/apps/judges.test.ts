// Golden cases for the four app judges and their OONI keys: each fixture
// (tests/fixtures/apps/<app>.json) is a probe record with the verdict and the
// OONI keys it must give, run through the experiment as the sweep and the
// export would.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ProbeKind, ProbeResult } from '../../probes/types.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import type { UnitObservation } from '../../src/analysis/observation.js';
import { facebookMessengerExperiment } from '../../src/experiments/facebook_messenger/index.js';
import { signalExperiment } from '../../src/experiments/signal/index.js';
import { telegramExperiment } from '../../src/experiments/telegram/index.js';
import type { Experiment } from '../../src/experiments/types.js';
import { whatsappExperiment } from '../../src/experiments/whatsapp/index.js';
import { VERDICTS, type Measurement } from '../../src/model.js';

interface GoldenCase {
  name: string;
  details: unknown;
  failure: string | null;
  failed_operation: string | null;
  /** IP → ASN for the judge's asnOf. */
  asn?: Record<string, number>;
  expected: { verdict: string; ooni?: Record<string, unknown> };
}

const fingerprints = defaultFingerprints();
const EXPERIMENTS: [string, Experiment][] = [
  ['telegram', telegramExperiment],
  ['whatsapp', whatsappExperiment],
  ['signal', signalExperiment],
  ['facebook_messenger', facebookMessengerExperiment],
];

function record(kind: string, c: GoldenCase): ProbeResult {
  return { probe: kind as ProbeKind, started_at: '2026-08-01T10:00:00.000Z', runtime_ms: 1234, failure: c.failure, failed_operation: c.failed_operation as never, details: c.details };
}

for (const [kind, experiment] of EXPERIMENTS) {
  const cases = (JSON.parse(readFileSync(new URL(`../fixtures/apps/${kind}.json`, import.meta.url), 'utf8')) as { cases: GoldenCase[] }).cases;
  describe(`${kind} judge (golden)`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const result = record(kind, c);
      const unit: UnitObservation = {
        kind,
        target: { raw: `app://${kind}`, category: 'COMT', tags: [], inputs: [`app://${kind}`] },
        url: `app://${kind}`,
        attempts: [{ [kind]: result }],
        control: null,
        controlFailed: false,
      };
      const asnOf = c.asn ? (ip: string) => c.asn![ip] ?? null : undefined;
      const verdict = experiment.judge(unit, undefined as never, { fingerprints, ...(asnOf ? { asnOf } : {}) });
      expect(VERDICTS).toContain(verdict.verdict);
      expect(verdict.verdict, verdict.verdict_reason).toBe(c.expected.verdict);
      expect(verdict.verdict_reason.length).toBeGreaterThan(10);

      const measurement: Measurement = {
        ...result,
        measurement_id: 'm-1',
        run_id: 'r-1',
        target: `app://${kind}`,
        url: `app://${kind}`,
        category: 'COMT',
        tags: [],
        verdict: verdict.verdict,
        verdict_reason: verdict.verdict_reason,
        control: null,
        evidence: verdict.evidence,
      };
      expect(experiment.ooni.testName(`app://${kind}`)).toBe(kind);
      const keys = experiment.ooni.keys([measurement]).testKeys;
      expect(keys).toMatchObject({ x_rasad_verdict: verdict.verdict, x_rasad_measurement_ids: ['m-1'] });
      // The judge's evidence carries OONI's keys too, with the same values (the FB export uses the bundled ASN data instead of the fixture's).
      if (c.expected.ooni && kind !== 'facebook_messenger') expect(keys).toMatchObject(c.expected.ooni);
      if (c.expected.ooni) expect(verdict.evidence).toMatchObject(c.expected.ooni);
    });
  });
}
