// Every scenario of lab/scenarios/ run through the REAL `rasad once` in the
// client namespace: each (url, probe)'s exported verdict must be the expected
// one. The noise-only scenario runs 5 times (its `repeat`) and must give no
// verdict but ok. After each scenario, its JSONL, CSV and OONI exports and
// every text cell of its database are searched for the client's own address
// (issue 9: the probe's IP is never stored or exported). Needs root: without
// it, setupLab throws and every test fails saying so.
//
// RASAD_LAB_SCENARIO=<name or path>[,...] runs only those scenarios.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDN_CONTROL_IP, CENSOR_CLIENT_IP, CLIENT_IP, PUBLIC_BLOCKPAGE_IP, REFUSING_IP, SITES } from '../../lab/addresses.js';
import { exportDb, REPO_ROOT, runScenario, type ScenarioReport } from '../../lab/harness.js';
import { findAddress, scanDatabase } from '../../lab/privacy.js';
import { loadScenario, resolveScenarioFile, type Scenario } from '../../lab/scenario.js';
import { useLab } from './client.js';

const dir = join(REPO_ROOT, 'lab', 'scenarios');
const jsonIn = (d: string) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).sort().map((f) => join(d, f)) : []);
// Loaded at collection time: a broken scenario file fails the whole suite loudly.
const scenarios: Scenario[] = jsonIn(dir).map((f) => loadScenario(f));
const chosen = process.env.RASAD_LAB_SCENARIO?.trim();
const toRun: Scenario[] = chosen ? chosen.split(',').map((n) => loadScenario(resolveScenarioFile(n.trim(), REPO_ROOT))) : scenarios;

useLab();


describe('scenario files', () => {
  it('cover every technique of the censor, a clean run, a shutdown, a down site, failing controls and noise', () => {
    const names = scenarios.map((s) => s.name);
    for (const required of ['clean', 'dns-injection', 'dns-nxdomain', 'dns-timeout', 'tcp-rst', 'tcp-drop', 'sni-rst', 'sni-drop', 'http-rst',
      'http-blockpage', 'https-unblocking', 'session-cut', 'throttling', 'protocol-filter', 'shutdown', 'site-down', 'control-dropped', 'control-stopped', 'noise',
      'http-diff', 'network-offline', 'inconclusive']) {
      expect(names).toContain(required);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(scenarios.find((s) => s.name === 'noise')!.repeat).toBe(5);
  });

  it('show every verdict of the vocabulary in DESIGN.md', () => {
    const shown = new Set<string>();
    for (const s of scenarios) {
      for (const e of Object.values(s.expect)) {
        const add = (x: unknown) => {
          if (typeof x === 'string') shown.add(x);
          else if (x && typeof x === 'object' && 'verdict' in x) shown.add(String(x.verdict));
        };
        if (typeof e === 'string' || 'verdict' in e || 'anyOf' in e) add(e);
        else for (const pe of Object.values(e)) add(pe);
      }
    }
    // Every verdict of ../shared/DESIGN.md's table.
    for (const verdict of ['ok', 'down', 'dns.nxdomain', 'dns.injected', 'dns.timeout', 'tcp.blocked', 'tls.reset', 'http.reset', 'http.blockpage',
      'http.diff', 'tls.session_cut', 'throttled', 'protocol.filtered', 'network.offline', 'inconclusive']) {
      expect([...shown], verdict).toContain(verdict);
    }
  });
});

describe.each(toRun.map((s) => [s.name, s] as const))('scenario %s', (_name, scenario) => {
  const runs = Array.from({ length: scenario.repeat }, (_, i) => i + 1);
  let lastReport: ScenarioReport | null = null;
  it.each(runs)(`run %i of ${scenario.repeat}: every verdict as expected`, async () => {
    const report = await runScenario(scenario);
    lastReport = report;
    expect(report.rows.length).toBeGreaterThan(0);
    expect(report.mismatches, `\n${report.table}\n(run files: ${report.runDir})`).toEqual([]);
    if (scenario.others === 'ok') {
      // The false-positive runs: nothing but ok, whatever was measured.
      expect(report.rows.filter((r) => !r.got.startsWith('ok')), report.table).toEqual([]);
    }
  });

  it("keeps the client's address out of its JSONL, CSV and OONI exports and out of its database", async () => {
    const report = lastReport;
    expect(report, 'the scenario did not run').not.toBeNull();
    const db = join(report!.runDir, 'rasad.db');
    expect(existsSync(db), `no database in ${report!.runDir}`).toBe(true);
    const [csv, ooni] = await Promise.all([
      exportDb(db, 'csv', join(report!.runDir, 'export.csv')),
      exportDb(db, 'ooni', join(report!.runDir, 'export.ooni.jsonl')),
    ]);
    const texts = { 'export.jsonl': readFileSync(join(report!.runDir, 'export.jsonl'), 'utf8'), 'export.csv': csv, 'export.ooni.jsonl': ooni };
    const scan = scanDatabase(db, CLIENT_IP);
    const hits = [...Object.entries(texts).flatMap(([where, text]) => findAddress(text, CLIENT_IP, where)), ...scan.hits];
    expect(hits, `${CLIENT_IP} found (run files: ${report!.runDir})`).toEqual([]);
    // The search is not blind: where the web probes ran, the same search
    // finds the lab sites' own addresses (DNS answers, connected endpoints),
    // which are the measurement and must be there. (The long-lived probes
    // record rates and ages, no address.)
    if (scenario.probes.includes('dns') || scenario.probes.includes('tcp')) {
      // The sites' addresses and the ones a censor points names at (ghost DNS, a refusing address, a captive gateway's own).
      const measured = [...SITES.map((site) => site.ip), CDN_CONTROL_IP, PUBLIC_BLOCKPAGE_IP, REFUSING_IP, CENSOR_CLIENT_IP];
      for (const [where, text] of Object.entries(texts)) {
        expect(measured.filter((ip) => findAddress(text, ip, where).length > 0), `no site address found in ${where}`).not.toEqual([]);
      }
      expect(measured.filter((ip) => scanDatabase(db, ip).hits.length > 0), 'no site address found in the database').not.toEqual([]);
    }
    expect(scan.tables).toEqual(expect.arrayContaining(['measurements', 'runs', 'events']));
  });
});
