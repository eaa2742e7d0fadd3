// Every scenario of lab/scenarios/ run through the REAL `rasad once` in the
// client namespace: each (url, probe)'s exported verdict must be the expected
// one. The noise-only scenario runs 5 times (its `repeat`) and must give no
// verdict but ok. Needs root: without it, setupLab throws and every test
// fails saying so.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runScenario, setupLab, teardownLab } from '../../lab/harness.js';
import { loadScenario, type Scenario } from '../../lab/scenario.js';

const dir = join(REPO_ROOT, 'lab', 'scenarios');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
// Loaded at collection time: a broken scenario file fails the whole suite loudly.
const scenarios: Scenario[] = files.map((f) => loadScenario(join(dir, f)));

// A lab that cannot be built (no root, a missing package) fails every test
// with its reason, rather than leaving them skipped behind a failed hook.
let setupError: unknown = null;
beforeAll(async () => {
  try {
    await setupLab();
  } catch (err) {
    setupError = err;
  }
}, 120_000);

beforeEach(() => {
  if (setupError) throw setupError;
});

afterAll(() => {
  teardownLab();
});

describe('scenario files', () => {
  it('cover every technique of the censor, a clean run, a shutdown, a down site, failing controls and noise', () => {
    const names = scenarios.map((s) => s.name);
    for (const required of ['clean', 'dns-injection', 'dns-nxdomain', 'dns-timeout', 'tcp-rst', 'tcp-drop', 'sni-rst', 'sni-drop', 'http-rst',
      'http-blockpage', 'https-unblocking', 'session-cut', 'throttling', 'protocol-filter', 'shutdown', 'site-down', 'control-dropped', 'control-stopped', 'noise']) {
      expect(names).toContain(required);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(scenarios.find((s) => s.name === 'noise')!.repeat).toBe(5);
  });
});

describe.each(scenarios.map((s) => [s.name, s] as const))('scenario %s', (_name, scenario) => {
  const runs = Array.from({ length: scenario.repeat }, (_, i) => i + 1);
  it.each(runs)(`run %i of ${scenario.repeat}: every verdict as expected`, async () => {
    const report = await runScenario(scenario);
    expect(report.rows.length).toBeGreaterThan(0);
    expect(report.mismatches, `\n${report.table}\n(run files: ${report.runDir})`).toEqual([]);
    if (scenario.others === 'ok') {
      // The false-positive runs: nothing but ok, whatever was measured.
      expect(report.rows.filter((r) => !r.got.startsWith('ok')), report.table).toEqual([]);
    }
  });
});
