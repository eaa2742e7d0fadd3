// The circumvention judges on golden records (tests/fixtures/circumvention):
// each file is one probe record and the verdict it must get, and the reason
// must name the protocol where the verdict is protocol.blocked.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UnitObservation } from '../../src/analysis/observation.js';
import { openvpnExperiment } from '../../src/experiments/openvpn/index.js';
import { torExperiment } from '../../src/experiments/tor/index.js';
import { wireguardExperiment } from '../../src/experiments/wireguard/index.js';
import { judgeEndpoint, PROTOCOL_BLOCKED } from '../../src/experiments/tor/endpoint-judge.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'circumvention');
const experiments = { tor: torExperiment, openvpn: openvpnExperiment, wireguard: wireguardExperiment } as const;

interface Golden {
  description: string;
  probe: keyof typeof experiments;
  record: { details: { endpoint: string; protocol: string } };
  expected: { verdict: string };
}

const goldens = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Golden] as const);

function unitOf(g: Golden): UnitObservation {
  const url = g.record.details.endpoint;
  return { kind: g.probe, target: { raw: url, category: 'ANON', tags: ['circumvention'], inputs: [url] }, url, attempts: [{ [g.probe]: g.record }], control: null } as unknown as UnitObservation;
}

describe('circumvention judges on golden records', () => {
  it('has a golden for every verdict the ladder gives', () => {
    expect(new Set(goldens.map(([, g]) => g.expected.verdict))).toEqual(new Set(['ok', 'down', 'tcp.blocked', 'tls.reset', 'http.blockpage', 'http.reset', 'protocol.blocked', 'inconclusive']));
  });

  it.each(goldens)('%s', (_file, golden) => {
    const experiment = experiments[golden.probe];
    const result = experiment.judge(unitOf(golden), undefined as never, { fingerprints: {} } as never);
    expect(result.verdict).toBe(golden.expected.verdict);
    expect(result.verdict_reason).toMatch(/^[A-Z].*\.$/);
    expect(result.evidence).toMatchObject({ protocol: golden.record.details.protocol, endpoint: golden.record.details.endpoint });
    if (result.verdict === PROTOCOL_BLOCKED) expect(result.verdict_reason).toMatch(/got no answer .* while /);
  });

  it('is inconclusive, never blocked, without a record or with a malformed one', () => {
    expect(judgeEndpoint(undefined).verdict).toBe('inconclusive');
    expect(judgeEndpoint({ details: 'garbage' } as never).verdict).toBe('inconclusive');
  });

  it('plans only its own schemes', () => {
    const target = (inputs: string[]) => ({ raw: inputs[0]!, category: 'ANON', tags: [], inputs });
    const all = new Set(['tor', 'openvpn', 'wireguard'] as never[]);
    expect(torExperiment.plan(target(['tor+dir://192.0.2.1:9030']), all)).toEqual([{ url: 'tor+dir://192.0.2.1:9030', probes: ['tor'] }]);
    expect(torExperiment.plan(target(['https://x.org/']), all)).toEqual([]);
    expect(openvpnExperiment.plan(target(['openvpn+tcp://192.0.2.1:443']), all)).toEqual([{ url: 'openvpn+tcp://192.0.2.1:443', probes: ['openvpn'] }]);
    expect(wireguardExperiment.plan(target(['tor://192.0.2.1:9001']), all)).toEqual([]);
  });

  it("exports under OONI's names where OONI has the test, rasad_wireguard where it does not, without the clientkey", () => {
    expect([torExperiment, openvpnExperiment, wireguardExperiment].map((e) => e.ooni.testName('x'))).toEqual(['tor', 'openvpn', 'rasad_wireguard']);
    const [, golden] = goldens.find(([f]) => f === 'tor-or-port-answers.json')!;
    const m = { ...golden.record, measurement_id: 'm1', run_id: 'r1', target: 'tor://192.0.2.10:9001', url: 'tor://192.0.2.10:9001', category: 'ANON', tags: [], verdict: 'ok', verdict_reason: '', control: null, evidence: {} };
    const keys = torExperiment.ooni.keys([m as never]).testKeys;
    expect(keys).toMatchObject({ or_port_total: 1, or_port_accessible: 1, dir_port_total: 0 });
    expect((keys.targets as Record<string, unknown>)['tor://192.0.2.10:9001']).toMatchObject({ target_protocol: 'or_port', target_address: '192.0.2.10:9001' });
    const secret = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
    const wg = { ...m, probe: 'wireguard', target: `wireguard://192.0.2.30:51820?pubkey=HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=&clientkey=${secret}` };
    expect(JSON.stringify(wireguardExperiment.ooni.keys([wg as never]).testKeys)).not.toContain(secret);
  });
});
