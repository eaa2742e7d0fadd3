// The lab's pure parts, without namespaces: the censor's rule planning and
// its refusals, scenario comparison, the protocol classifier, the DNS wire
// format and the HTTP middlebox's Host parsing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { findAddress, scanDatabase } from '../../lab/privacy.js';
import { planCensor, qnameHexString, ScenarioError } from '../../lab/censor.js';
import {
  BLOCKPAGE_IPS, CDN_CONTROL_IP, DOMESTIC_DNS_IP, isLabAddress, PUBLIC_BLOCKPAGE_IP, REFUSING_IP, REWRITING_DNS_IP, SITES, UNSERVED_DNS_IP, WORLD_ALT_DNS_IP, WORLD_DNS_IP, WORLD_RANGES,
} from '../../lab/addresses.js';
import { dnsConfig } from '../../lab/harness.js';
import { compareEvents, compareRows, formatTable, validateScenario } from '../../lab/scenario.js';
import { isBogon } from '../../probes/bogons.js';
import { answer } from '../../lab/services/dns-server.js';
import { buildQuery, parseMessage, QTYPE } from '../../lab/services/dns-wire.js';
import { blockpageResponse, IRAN_BLOCKPAGE_BODY } from '../../lab/services/blockpage.js';
import { requestHost } from '../../lab/services/middlebox.js';
import { receivedLine } from '../../lab/services/webhook-receiver.js';
import { isAllowedProtocol, looksLikeDns, looksLikeTls } from '../../lab/services/protocol-classifier.js';

describe('planCensor', () => {
  it('never aims a rule outside the lab', () => {
    expect(() => planCensor({ tcp: [{ targets: ['203.0.113.7'], ports: [443], action: 'drop' }] })).toThrow(ScenarioError);
    expect(() => planCensor({ tcp: [{ targets: ['example.org'], ports: [443], action: 'drop' }] })).toThrow(/neither a lab site nor a lab address/);
    expect(() => planCensor({ dns: [{ names: ['news.world.test'], action: 'inject', answer: '198.51.100.4' }] })).toThrow(/not a lab address/);
    expect(() => planCensor({ throttle: { from: ['0.0.0.0/0'] } })).toThrow(ScenarioError);
  });

  it('refuses unknown techniques, bad ports and two middleboxes on one destination', () => {
    expect(() => planCensor({ teleport: true } as never)).toThrow(/unknown technique/);
    expect(() => planCensor({ tcp: [{ targets: ['news.world.test'], ports: [0], action: 'rst' }] })).toThrow(/bad port/);
    expect(() =>
      planCensor({ sessionCut: { targets: ['echo.world.test'], afterS: 4, ports: [443] }, protocolFilter: { targets: ['echo.world.test'] } }),
    ).toThrow(/diverted through both/);
  });

  it('turns each technique into its rules', () => {
    const plan = planCensor({
      dns: [{ names: ['news.world.test'], action: 'inject' }, { names: ['blog.world.test'], action: 'timeout' }],
      sni: [{ names: ['social.world.test'], action: 'rst' }],
      http: [{ hosts: ['vpn.world.test'], action: 'blockpage' }],
      sessionCut: { targets: ['chat.world.test'], afterS: 4 },
      throttle: {},
    });
    const rules = plan.iptables.map((r) => r.args.join(' '));
    expect(rules.some((r) => r.includes('NFQUEUE') && r.includes(qnameHexString('news.world.test')))).toBe(true);
    expect(rules.filter((r) => r.includes(qnameHexString('blog.world.test')) && r.endsWith('-j DROP'))).toHaveLength(2);
    expect(rules.some((r) => r.includes('--string social.world.test') && r.includes('tcp-reset'))).toBe(true);
    expect(plan.nfqueue?.dns?.rules).toEqual([{ name: 'news.world.test', action: 'inject', answer: '10.10.34.36', dropReal: false }]);
    const kinds = plan.middlebox!.listeners.map((l) => `${l.kind} ${l.upstreamHost}:${l.upstreamPort}`);
    expect(kinds).toContain('cut 5.9.10.14:443');
    expect(kinds).toContain('http-filter 5.9.10.15:80');
    expect(plan.middlebox!.listeners.find((l) => l.kind === 'cut')!.cutAfterMs).toBe(4000);
    expect(plan.tc.some((args) => args.includes('tbf') && args.includes('128kbit'))).toBe(true);
    for (const range of WORLD_RANGES) expect(plan.tc.some((args) => args.includes(range)), range).toBe(true);
  });

  it('gives the blockpage middlebox another status when a rule asks, and refuses a bad or conflicting one', () => {
    const plan = planCensor({ http: [{ hosts: ['video.world.test'], action: 'blockpage', status: 404, body: '<title>Notice</title>' }] });
    const listeners = plan.middlebox!.listeners;
    expect(listeners.every((l) => l.kind === 'http-filter' && l.status === 404 && l.body === '<title>Notice</title>')).toBe(true);
    expect(planCensor({ http: [{ hosts: ['vpn.world.test'], action: 'blockpage' }] }).middlebox!.listeners[0]!.status).toBeUndefined();
    expect(() => planCensor({ http: [{ hosts: ['vpn.world.test'], action: 'blockpage', status: 99 }] })).toThrow(/status/);
    expect(() => planCensor({ http: [{ hosts: ['vpn.world.test'], action: 'blockpage', status: 404 }, { hosts: ['blog.world.test'], action: 'blockpage', status: 200 }] }))
      .toThrow(/same status/);
  });

  it('cuts the client off both ways when offline, and nothing else', () => {
    const rules = planCensor({ offline: true }).iptables.map((r) => `${r.ns} ${r.args.join(' ')}`);
    expect(rules).toEqual(['censor -A LAB -i to-client -j DROP', 'censor -A LAB -o to-client -j DROP']);
    expect(planCensor({ offline: false }).iptables).toEqual([]);
    expect(() => planCensor({ offline: 'yes' } as never)).toThrow(/offline/);
  });

  it('writes a qname in its wire form', () => {
    expect(qnameHexString('news.world.test')).toBe('|04|news|05|world|04|test|00|');
  });
});

describe('scenario comparison', () => {
  const scenario = validateScenario({
    name: 'x',
    targets: ['https://chat.world.test/ COMT'],
    probes: ['tls_duration'],
    expect: { 'https://chat.world.test/': { verdict: 'tls.session_cut', cut_after_s: { min: 3, max: 5 } } },
    censor: {},
  });

  it('checks the verdict and the bounds found anywhere in the exported record', () => {
    const good = compareRows(scenario, [{ url: 'https://chat.world.test/', probe: 'tls_duration', verdict: 'tls.session_cut', evidence: { cut_after_s: 4.1 } }]);
    expect(good.every((r) => r.ok)).toBe(true);
    const early = compareRows(scenario, [{ url: 'https://chat.world.test/', probe: 'tls_duration', verdict: 'tls.session_cut', details: { x: { cut_after_s: 1 } } }]);
    expect(early.filter((r) => !r.ok)).toHaveLength(1);
    const wrong = compareRows(scenario, [{ url: 'https://chat.world.test', probe: 'tls_duration', verdict: 'ok' }]);
    expect(wrong.filter((r) => !r.ok).map((r) => r.got)).toEqual(['ok cut_after_s=none']);
    expect(formatTable(wrong)).toContain('MISMATCH');
    // A mismatch also shows what the measurement said, for a CI log to be read without the run files.
    const said = compareRows(scenario, [{ url: 'https://chat.world.test/', probe: 'tls_duration', verdict: 'inconclusive', failure: 'generic_timeout_error', verdict_reason: 'No answer.' }]);
    expect(formatTable(said)).toContain('<-- MISMATCH (failure generic_timeout_error; reason "No answer.")');
  });

  it('checks the failure string a probe recorded, where the scenario names one', () => {
    const s = validateScenario({
      name: 'f',
      targets: ['http://blog.world.test/ NEWS'],
      probes: ['tcp', 'http'],
      expect: { 'http://blog.world.test/': { verdict: 'http.reset', failures: { tcp: null, http: 'connection_reset' } } },
      censor: {},
    });
    const rows = (httpFailure: string | null) => [
      { url: 'http://blog.world.test/', probe: 'tcp', verdict: 'http.reset', failure: null },
      { url: 'http://blog.world.test/', probe: 'http', verdict: 'http.reset', failure: httpFailure },
    ];
    expect(compareRows(s, rows('connection_reset')).every((r) => r.ok)).toBe(true);
    const wrong = compareRows(s, rows('eof_error'));
    expect(wrong.filter((r) => !r.ok).map((r) => r.got)).toEqual(['http.reset http:eof_error']);
    expect(() => validateScenario({ name: 'g', targets: ['a.test'], probes: ['dns'], expect: { 'http://a.test/': { verdict: 'ok', failures: { telepathy: null } } }, censor: {} })).toThrow(/unknown probe telepathy/);
  });

  it('counts an expected url with no measurement as a mismatch', () => {
    const rows = compareRows(scenario, []);
    expect(rows).toEqual([expect.objectContaining({ target: 'https://chat.world.test/', got: 'missing', ok: false })]);
  });

  it('rejects verdicts outside the vocabulary and unknown keys', () => {
    expect(() => validateScenario({ name: 'y', targets: ['a.test'], probes: ['dns'], expect: { 'http://a.test/': 'blocked' }, censor: {} })).toThrow(/not a verdict/);
    expect(() => validateScenario({ name: 'y', targets: ['a.test'], probes: ['dns'], expect: { 'http://a.test/': 'ok' }, censor: {}, extra: 1 })).toThrow(/unknown key/);
  });
});

describe('the protocol classifier', () => {
  it('passes HTTP, a TLS ClientHello with a matching record length, and DNS queries; not junk', () => {
    expect(isAllowedProtocol(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(true);
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 1, 2, 3, 4]);
    expect(looksLikeTls(hello)).toBe(true);
    const badLength = Buffer.from(hello);
    badLength[4] = 0x09;
    expect(looksLikeTls(badLength)).toBe(false);
    const query = buildQuery(7, 'news.world.test');
    expect(looksLikeDns(query)).toBe(true);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length);
    expect(looksLikeDns(Buffer.concat([prefix, query]))).toBe(true);
    expect(isAllowedProtocol(Buffer.from('junk-1-xxxxxxxxxxxxxxxxxxxxxxxx'))).toBe(false);
    expect(isAllowedProtocol(Buffer.from('get / HTTP/1.1'))).toBe(false);
  });
});

describe('the lab DNS server', () => {
  const config = { listen: [], port: 53, zones: ['world.test'], records: { 'news.world.test': ['5.9.10.11'] } };
  const ask = (name: string, type: number = QTYPE.A) => parseMessage(answer(config, parseMessage(buildQuery(1, name, type)))!);

  it('answers its names, NXDOMAIN in its zones and REFUSED outside them', () => {
    expect(ask('NEWS.world.test').answers.map((a) => a.data)).toEqual(['5.9.10.11']);
    expect(ask('news.world.test', QTYPE.AAAA).answers).toEqual([]);
    expect(ask('nope.world.test').rcode).toBe(3);
    expect(ask('example.org').rcode).toBe(5);
  });

  it('never answers an answer, and rejects malformed messages', () => {
    const reply = answer(config, parseMessage(buildQuery(1, 'news.world.test')))!;
    expect(answer(config, parseMessage(reply))).toBeNull();
    expect(() => parseMessage(Buffer.from([1, 2, 3]))).toThrow();
    const loop = Buffer.concat([buildQuery(1, 'a.test').subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(() => parseMessage(loop)).toThrow();
  });
});

describe('the HTTP middlebox', () => {
  it('reads the Host of a request head, without port or case', () => {
    expect(requestHost('GET / HTTP/1.1\r\nHost: VPN.world.test:80\r\nAccept: */*\r\n\r\n')).toBe('vpn.world.test');
    expect(requestHost('GET / HTTP/1.1\r\nhost:vpn.world.test.\r\n\r\n')).toBe('vpn.world.test');
    expect(requestHost('GET / HTTP/1.0\r\n\r\n')).toBeNull();
  });

  it("answers Iran's 403 by default and the status line a rule asks for otherwise", () => {
    expect(blockpageResponse()).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[^]*Connection: close\r\n\r\n/);
    expect(blockpageResponse().endsWith(IRAN_BLOCKPAGE_BODY)).toBe(true);
    const notice = blockpageResponse('<p>notice</p>', 404);
    expect(notice.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
    expect(notice.endsWith('\r\n\r\n<p>notice</p>')).toBe(true);
  });
});

describe('the webhook receiver', () => {
  it('records a JSON body as one line, and anything else under "unparseable"', () => {
    expect(receivedLine('{\n  "kind": "blocked",\n  "url": "http://vpn.world.test/"\n}')).toBe('{"kind":"blocked","url":"http://vpn.world.test/"}');
    expect(JSON.parse(receivedLine('not json\n'))).toEqual({ unparseable: 'not json\n' });
  });
});

describe('the privacy search', () => {
  it('finds an address as a whole token in text, not inside a longer one', () => {
    expect(findAddress('connect ETIMEDOUT 10.77.1.2:443 - Local (10.77.1.2:5000)', '10.77.1.2', 'x')).toHaveLength(2);
    expect(findAddress('::ffff:10.77.1.2', '10.77.1.2', 'x')).toHaveLength(1);
    expect(findAddress('10.77.1.20 110.77.1.2 10.77.1.25', '10.77.1.2', 'x')).toEqual([]);
  });

  it('reads every text and blob cell of every table of a database', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasad-privacy-'));
    try {
      const file = join(dir, 'x.db');
      const db = new Database(file);
      db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY, doc TEXT); CREATE TABLE b (k TEXT, blob BLOB)');
      db.prepare('INSERT INTO a (doc) VALUES (?), (?)').run('{"ok":"5.9.10.11"}', '{"details":{"local":"10.77.1.2"}}');
      db.prepare('INSERT INTO b VALUES (?, ?)').run('clean', gzipSync(Buffer.from('from 10.77.1.2')));
      db.close();
      const scan = scanDatabase(file, '10.77.1.2');
      expect(scan.tables.sort()).toEqual(['a', 'b']);
      expect(scan.cells).toBe(4);
      expect(scan.hits.map((h) => h.where).sort()).toEqual(['a.doc', 'b.blob (blob)']);
      expect(scanDatabase(file, '10.77.9.9').hits).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the address plan', () => {
  const served = [...SITES.map((s) => s.ip), CDN_CONTROL_IP, REFUSING_IP, PUBLIC_BLOCKPAGE_IP, WORLD_DNS_IP, WORLD_ALT_DNS_IP, REWRITING_DNS_IP, DOMESTIC_DNS_IP, UNSERVED_DNS_IP];

  it('gives every site, resolver and lab-made answer a public-looking address (no bogon), inside the lab ranges', () => {
    expect(served.filter((ip) => isBogon(ip))).toEqual([]);
    expect(served.filter((ip) => !isLabAddress(ip))).toEqual([]);
    // Iran's injection addresses stay what they are: private, and fingerprinted.
    expect(BLOCKPAGE_IPS.every((ip) => isBogon(ip) && isLabAddress(ip))).toBe(true);
    expect(served.filter((ip) => ip.startsWith('10.10.34.'))).toEqual([]);
    expect(new Set(SITES.map((s) => s.ip)).size).toBe(SITES.length);
  });

  it('refuses to aim a rule at a public address outside the lab ranges', () => {
    expect(isLabAddress('5.8.255.255')).toBe(false);
    expect(isLabAddress('1.1.1.1')).toBe(false);
    expect(() => planCensor({ throttle: { from: ['5.0.0.0/8'] } })).toThrow(ScenarioError);
  });
});

describe('the lab DNS server, ordinary habits', () => {
  const config = dnsConfig([]);
  const ask = (name: string, type: number, source: string) => parseMessage(answer(config, parseMessage(buildQuery(1, name, type)), source)!);

  it("answers the CDN name with one address to the probe's side and another to the control's", () => {
    const probe = ask('cdn.world.test', QTYPE.A, '10.77.1.2').answers.map((a) => a.data);
    const control = ask('cdn.world.test', QTYPE.A, '10.77.5.2').answers.map((a) => a.data);
    expect(probe).toEqual([SITES.find((s) => s.habit === 'cdn')!.ip]);
    expect(control).toEqual([CDN_CONTROL_IP]);
    expect(ask('news.world.test', QTYPE.A, '10.77.5.2').answers.map((a) => a.data)).toEqual(['5.9.10.11']);
  });

  it('answers AAAA for the dual-stack name and nothing else, and NXDOMAIN for the ghost name', () => {
    const aaaa = ask('dual.world.test', QTYPE.AAAA, '10.77.1.2').answers;
    expect(aaaa).toHaveLength(1);
    expect(aaaa[0]!.type).toBe(QTYPE.AAAA);
    expect(aaaa[0]!.data).toBe('2a0104f8001000100000000000000001'); // 2a01:4f8:10:10::1
    expect(ask('dual.world.test', QTYPE.A, '10.77.1.2').answers.map((a) => a.data)).toEqual(['5.9.11.11']);
    expect(ask('ghost.world.test', QTYPE.A, '10.77.1.2').rcode).toBe(3);
  });
});

describe('scenario expectations', () => {
  const base = { name: 'x', targets: ['https://clean.world.test/ NEWS'], probes: ['dns'] };

  it('accepts anyOf, reason and events, and refuses what is not a verdict or an event kind', () => {
    const s = validateScenario({ ...base, expect: { 'https://clean.world.test/': { anyOf: ['down', 'inconclusive'], reason: 'redirects' } }, events: ['shutdown'] });
    const rows = compareRows(s, [
      { url: 'https://clean.world.test/', probe: 'dns', verdict: 'down', verdict_reason: 'stopped after 10 redirects' },
      { url: 'https://clean.world.test/', probe: 'tcp', verdict: 'ok', verdict_reason: 'fine' },
    ]);
    expect(rows.map((r) => r.ok)).toEqual([true, false]);
    expect(compareEvents(s, [{ kind: 'blocked' }]).map((r) => r.ok)).toEqual([false]);
    expect(compareEvents(s, [{ kind: 'shutdown' }]).map((r) => r.ok)).toEqual([true]);
    expect(() => validateScenario({ ...base, expect: { 'https://clean.world.test/': { anyOf: ['ok', 'tls.imaginary'] } } })).toThrow(/anyOf/);
    expect(() => validateScenario({ ...base, expect: { 'https://clean.world.test/': 'ok' }, events: ['party'] })).toThrow(/event kinds/);
    expect(() => validateScenario({ ...base, expect: { 'https://clean.world.test/': { verdict: 'ok', anyOf: ['ok'] } } })).toThrow(/either/);
  });
});
