// A sweep judged as its units finish (src/analysis/verdict.ts:
// startSweepJudgement) must give the verdicts of judging the whole sweep at
// once, while keeping only what the sweep-wide rules need: a unit whose
// experiment judges it alone is judged when it is added, the units of an
// experiment that compares units (a baseline, cut ages) at the end, and
// network.offline still overrides every verdict, early or late.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { batchJudge, judgeSweep, startSweepJudgement, type UnitObservation } from '../../src/analysis/verdict.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'verdicts');
const options = { fingerprints: defaultFingerprints() };

function units(name: string): UnitObservation[] {
  return (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { units: UnitObservation[] }).units;
}

/** Adds the units, then empties each one the judgement was handed: only what it kept can reach a verdict. */
function judgeForgetting(list: UnitObservation[]) {
  const judgement = startSweepJudgement(options);
  const added = list.map((u) => judgement.add(u));
  for (const u of list) u.attempts = [];
  return { added, verdicts: judgement.finish() };
}

describe('startSweepJudgement', () => {
  it('judges a web unit when it is added: emptying the unit afterwards changes nothing', () => {
    const names = ['tcp-blocked', 'http-blockpage-iran', 'dns-injected-bogon', 'ok-https-consistent'];
    const expected = judgeSweep(names.flatMap(units), options);
    const { verdicts } = judgeForgetting(names.flatMap(units));
    expect(verdicts.map((v) => v.verdict)).toEqual(['tcp.blocked', 'http.blockpage', 'dns.injected', 'ok']);
    expect(verdicts).toEqual(expected);
  });

  it('keeps the units of an experiment that compares units, and judges them at the end against the sweep', () => {
    // The domestic baseline and the foreign download are both throughput units: emptying them loses the figures.
    const list = units('throttled-collapse-first-sweep');
    const expected = judgeSweep(units('throttled-collapse-first-sweep'), options);
    expect(expected.map((v) => v.verdict)).toContain('throttled');
    const { verdicts } = judgeForgetting(list);
    expect(verdicts.map((v) => v.verdict)).not.toContain('throttled');

    const cuts = units('tls-session-cut');
    const judgement = startSweepJudgement(options);
    for (const u of cuts) judgement.add(u);
    expect(judgement.finish()).toEqual(judgeSweep(units('tls-session-cut'), options));
  });

  it('says at once whether a unit failed, and still calls the whole sweep offline at the end, over verdicts given early', () => {
    const list = units('network-offline-dead-wifi');
    const { added, verdicts } = judgeForgetting(list);
    expect(added.map((a) => a.index)).toEqual(list.map((_, i) => i));
    expect(added.every((a) => a.failed)).toBe(true);
    expect(new Set(verdicts.map((v) => v.verdict))).toEqual(new Set(['network.offline']));
    expect(verdicts).toEqual(judgeSweep(units('network-offline-dead-wifi'), options));
  });

  it('answers a malformed unit inconclusive, in its place, without losing the others', () => {
    const judgement = startSweepJudgement(options);
    judgement.add(units('tcp-blocked')[0]!);
    judgement.add(null as unknown as UnitObservation);
    judgement.add({ kind: 'no-such-experiment', attempts: [{}] } as unknown as UnitObservation);
    const verdicts = judgement.finish();
    expect(verdicts.map((v) => v.verdict)).toEqual(['tcp.blocked', 'inconclusive', 'inconclusive']);
    expect(verdicts[2]!.verdict_reason).toContain('no-such-experiment');
  });
});

describe('batchJudge', () => {
  it('hands a whole-sweep function every unit it was given, in order', () => {
    const seen: string[] = [];
    const judgement = batchJudge((list) => list.map((u) => (seen.push(u.url), { verdict: 'ok', verdict_reason: u.url, evidence: {} })))(options);
    for (const url of ['http://a.test/', 'http://b.test/']) judgement.add({ kind: 'web', url, attempts: [], control: null, controlFailed: false } as unknown as UnitObservation);
    expect(judgement.finish().map((v) => v.verdict_reason)).toEqual(['http://a.test/', 'http://b.test/']);
    expect(seen).toEqual(['http://a.test/', 'http://b.test/']);
  });
});
