// What the bundled targets.txt makes a sweep do: the messaging apps are
// measured by default; Tor's directory authorities (tor://, tor+dir://) and
// every other circumvention line only when the volunteer opted in
// (probeCircumvention). Driven through runSweep with stand-in probes that
// record what they were asked and touch no network.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Probe, ProbeKind } from '../../probes/types.js';
import { defaultConfig } from '../../src/config/schema.js';
import { experimentOf, PROBE_KINDS, type ProbeRegistry } from '../../src/experiments/registry.js';
import { Store } from '../../src/store/store.js';
import { runSweep } from '../../src/sweep/run.js';
import { loadTargets } from '../../src/targets/parse.js';
import { batchJudge } from '../../src/analysis/verdict.js';

const targets = loadTargets(fileURLToPath(new URL('../../targets.txt', import.meta.url)));
const AUTHORITIES = 8;

/** Probes that answer at once and remember each (kind, input) they were run on. */
function recordingProbes(calls: string[]): ProbeRegistry {
  const make = (kind: ProbeKind): Probe => ({
    kind,
    async run(input) {
      calls.push(`${kind} ${input.url}`);
      return { probe: kind, started_at: new Date().toISOString(), runtime_ms: 0, failure: null, failed_operation: null, details: {} };
    },
  });
  return Object.fromEntries(PROBE_KINDS.map((k) => [k, make(k)])) as ProbeRegistry;
}

/** One sweep of the bundled list under the default configuration (as `npm start` runs it), per schedule. */
async function sweepBundled(schedule: 'web' | 'long', probeCircumvention: boolean) {
  const config = defaultConfig();
  config.probeCircumvention = probeCircumvention;
  const calls: string[] = [];
  const store = Store.open(join(mkdtempSync(join(tmpdir(), 'rasad-bundled-plan-')), 'db.sqlite'));
  try {
    const outcome = await runSweep(
      {
        store,
        config,
        probes: recordingProbes(calls),
        logger: pino({ level: 'silent' }),
        judge: batchJudge((units) => units.map(() => ({ verdict: 'ok', verdict_reason: 'stand-in', evidence: {} }))),
        needsRetry: () => false,
        judgeOptions: { fingerprints: { dns: [], http: [] } as never },
      },
      { schedule, probes: config.schedules[schedule].probes, targets, concurrency: 50 },
    );
    return { units: outcome.units, calls };
  } finally {
    store.close();
  }
}

describe('the bundled targets.txt', () => {
  it('parses, and names the four messaging apps and each Tor directory authority by OR port and directory port', () => {
    const inputs = targets.flatMap((t) => t.inputs);
    expect(inputs).toEqual(expect.arrayContaining(['app://telegram', 'app://whatsapp', 'app://signal', 'app://facebook_messenger']));
    const or = targets.filter((t) => t.inputs[0]!.startsWith('tor://'));
    const dir = targets.filter((t) => t.inputs[0]!.startsWith('tor+dir://'));
    expect(or).toHaveLength(AUTHORITIES);
    expect(dir).toHaveLength(AUTHORITIES);
    for (const t of [...or, ...dir]) {
      expect(t.tags, t.raw).toContain('circumvention');
      expect(t.category, t.raw).toBe('ANON');
    }
    // Every OR port names the relay's RSA identity, and each authority's address has both ports.
    for (const t of or) expect(t.inputs[0], t.raw).toMatch(/^tor:\/\/[0-9.]+:\d+\?fingerprint=[0-9A-F]{40}$/);
    const address = (input: string) => new URL(input).hostname;
    expect(new Set(or.map((t) => address(t.inputs[0]!)))).toEqual(new Set(dir.map((t) => address(t.inputs[0]!))));
  });

  it('by default (npm start) measures the apps and plans no circumvention unit in either schedule', async () => {
    const web = await sweepBundled('web', false);
    const long = await sweepBundled('long', false);
    const units = [...web.units, ...long.units];
    expect(web.units.map((u) => u.url)).toEqual(expect.arrayContaining(['app://telegram', 'app://whatsapp', 'app://signal', 'app://facebook_messenger']));
    expect(units.filter((u) => experimentOf(u.kind)?.circumvention).map((u) => u.url)).toEqual([]);
    expect(units.filter((u) => u.target.tags.includes('circumvention')).map((u) => u.url)).toEqual([]);
    const calls = [...web.calls, ...long.calls];
    expect(calls.filter((c) => /^tor |tor(\+dir)?:\/\/|torproject/.test(c))).toEqual([]);
  });

  it('with probeCircumvention, the long schedule probes every authority\'s OR and directory port with the tor probe', async () => {
    const long = await sweepBundled('long', true);
    const tor = long.units.filter((u) => u.kind === 'tor').map((u) => u.url);
    expect(tor.filter((u) => u.startsWith('tor://'))).toHaveLength(AUTHORITIES);
    expect(tor.filter((u) => u.startsWith('tor+dir://'))).toHaveLength(AUTHORITIES);
    expect(long.calls.filter((c) => c.startsWith('tor '))).toHaveLength(2 * AUTHORITIES);
  });
});
