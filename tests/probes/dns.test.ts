// dnsProbe against real UDP and DoH servers on loopback. In this namespace
// the system resolver is only ever asked for `localhost` (answered from
// /etc/hosts); its failure paths run in a throwaway namespace whose
// resolv.conf points at a DNS server of ours.
import { createSocket } from 'node:dgram';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dnsProbe, firstNameserver, parseResolverAddress, type NonexistentNameCheck } from '../../probes/dns.js';
import { decodeMessage, encodeMessage } from '../../probes/dns_codec.js';
import { ProbeInputError } from '../../probes/net.js';
import type { DnsDetails, DnsResolution, ProbeResult } from '../../probes/types.js';
import { makePki } from '../helpers/certs.js';
import { addressAnswer, answer, udpDnsServer, type TestDnsServer } from '../helpers/loopback/dns.js';
import { TestNetns } from '../helpers/loopback/netns.js';
import { never, probeInput, testOptions } from '../helpers/loopback/options.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function dnsServer(handler: Parameters<typeof udpDnsServer>[0]): Promise<TestDnsServer> {
  const server = await udpDnsServer(handler);
  cleanups.push(() => server.close());
  return server;
}

function udp(result: ProbeResult<DnsDetails>, type: 'A' | 'AAAA'): DnsResolution {
  const r = result.details.resolutions.find((x) => x.engine === 'udp' && x.query_type === type);
  if (!r) throw new Error(`no udp ${type} resolution`);
  return r;
}

const LOCALHOST = 'http://localhost/';

describe('dnsProbe: the raw UDP client', () => {
  it('records both answers of an on-path injection and flags it', async () => {
    // The injector answers at once with Iran's address, the real server 50 ms later.
    const server = await dnsServer(({ query, reply }) => {
      if (!query) return;
      if (query.questions[0]?.type !== 1) return reply(answer(query, []));
      reply(answer(query, [{ name: query.questions[0].name, type: 'A', data: '10.10.34.36' }]));
      reply(answer(query, [{ name: query.questions[0].name, type: 'A', data: '127.0.0.1' }]), 50);
    });
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address, dnsListenWindowMs: 600 })), never());

    const a = udp(result, 'A');
    expect(a.responses.map((r) => r.answers.map((x) => x.value))).toEqual([['10.10.34.36'], ['127.0.0.1']]);
    expect(a.answers.map((x) => x.value)).toEqual(['10.10.34.36']); // what a normal client would use: the first
    expect(a.injection_suspected).toBe(true);
    expect(a.bogons).toContain('10.10.34.36');
    expect(a.failure).toBeNull();
    expect(a.rcode).toBe('NOERROR');
    expect(a.responses[1]!.t).toBeGreaterThanOrEqual(a.responses[0]!.t);
    expect(udp(result, 'AAAA').failure).toBe('dns_no_answer');
    // The system resolver's addresses come first, then what the UDP client saw.
    const system = result.details.resolutions[0]!;
    expect(system.engine).toBe('system');
    expect(system.answers.map((x) => x.value)).toContain('127.0.0.1');
    expect(result.details.addresses[0]).toBe(system.answers[0]!.value);
    expect(result.details.addresses).toContain('10.10.34.36');
    expect(new Set(result.details.addresses).size).toBe(result.details.addresses.length);
    expect(result.failure).toBeNull();
    expect(result.details.hostname).toBe('localhost');
  });

  it('two identical answers are not an injection', async () => {
    const server = await dnsServer(({ query, reply }) => {
      if (!query) return;
      reply(answer(query, addressAnswer(query, '127.0.0.1', null)));
      reply(answer(query, addressAnswer(query, '127.0.0.1', null)), 20);
    });
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address })), never());
    const a = udp(result, 'A');
    expect(a.responses).toHaveLength(2);
    expect(a.injection_suspected).toBe(false);
    expect(a.bogons).toEqual(['127.0.0.1']);
  });

  it.each([
    [3, 'NXDOMAIN', 'dns_nxdomain_error'],
    [2, 'SERVFAIL', 'dns_servfail_error'],
    [5, 'REFUSED', 'dns_refused_error'],
  ])('rcode %i is recorded as %s / %s', async (rcode, name, failure) => {
    const server = await dnsServer(({ query, reply }) => query && reply(answer(query, [], rcode)));
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address })), never());
    for (const type of ['A', 'AAAA'] as const) {
      const r = udp(result, type);
      expect(r.rcode).toBe(name);
      expect(r.failure).toBe(failure);
      expect(r.responses).toHaveLength(1);
      expect(r.answers).toEqual([]);
    }
    // localhost still resolved through /etc/hosts: the probe as a whole found addresses.
    expect(result.failure).toBeNull();
  });

  it('a server that never answers is a generic_timeout_error after the timeout', async () => {
    const server = await dnsServer(() => {});
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address, timeoutMs: 400 })), never());
    const a = udp(result, 'A');
    expect(a.failure).toBe('generic_timeout_error');
    expect(a.responses).toEqual([]);
    expect(a.rcode).toBeNull();
    expect(a.t - a.t0).toBeGreaterThanOrEqual(0.35);
    expect(server.queries.map((q) => q.questions[0]?.type).sort()).toEqual([1, 28]);
  });

  it('ignores (and counts) responses with the wrong ID or question, and keeps the right one', async () => {
    const server = await dnsServer(({ query, reply }) => {
      if (!query) return;
      reply(answer(query, addressAnswer(query, '10.10.34.34', null), 0, { id: (query.id + 1) & 0xffff }));
      reply(encodeMessage({ id: query.id, questions: [{ name: 'other.test', type: query.questions[0]!.type }], answers: [{ name: 'other.test', type: 'A', data: '10.10.34.35' }] }));
      reply(answer(query, addressAnswer(query, '127.0.0.1', null)), 30);
    });
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address })), never());
    const a = udp(result, 'A');
    expect(a.responses.map((r) => r.answers.map((x) => x.value))).toEqual([['127.0.0.1']]);
    expect(a.ignored_responses).toBe(2);
    expect(a.injection_suspected).toBe(false);
    expect(result.details.addresses).not.toContain('10.10.34.34');
  });

  it('drops answers from the wrong source address/port', async () => {
    const stranger = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => stranger.close(() => r())));
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
    const server = await dnsServer(({ query, from, reply }) => {
      if (!query) return;
      // Same ID and question, but from another port: a blind spoofer's try.
      stranger.send(answer(query, addressAnswer(query, '10.10.34.36', null)), from.port, from.address);
      reply(answer(query, addressAnswer(query, '127.0.0.1', null)), 30);
    });
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address })), never());
    const a = udp(result, 'A');
    expect(a.responses.map((r) => r.answers.map((x) => x.value))).toEqual([['127.0.0.1']]);
    expect(result.details.addresses).not.toContain('10.10.34.36');
  });

  it('records CNAME chains and the truncated flag', async () => {
    const server = await dnsServer(({ query, reply }) => {
      if (!query) return;
      const name = query.questions[0]!.name;
      if (query.questions[0]!.type === 28) return reply(answer(query, [], 0, { truncated: true }));
      reply(answer(query, [{ name, type: 'CNAME', data: 'edge.cdn.test' }, { name: 'edge.cdn.test', type: 'A', data: '127.0.0.2' }]));
    });
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address })), never());
    expect(udp(result, 'A').answers).toEqual([
      { type: 'CNAME', value: 'edge.cdn.test', ttl: 60 },
      { type: 'A', value: '127.0.0.2', ttl: 60 },
    ]);
    const aaaa = udp(result, 'AAAA');
    expect(aaaa.responses[0]!.truncated).toBe(true);
    expect(aaaa.failure).toMatch(/^unknown_failure: .*truncated/);
    expect(result.details.addresses).toContain('127.0.0.2');
  });

  it('a closed UDP port answers with ICMP: connection_refused, at once', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: `127.0.0.1:${port}`, timeoutMs: 5_000 })), never());
    for (const type of ['A', 'AAAA'] as const) {
      expect(udp(result, type).failure).toBe('connection_refused');
      expect(udp(result, type).t).toBeLessThan(4);
    }
  });

  it('an aborted probe stops now and records interrupted', async () => {
    const server = await dnsServer(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: server.address, timeoutMs: 20_000 })), controller.signal);
    expect(udp(result, 'A').failure).toBe('interrupted');
    expect(udp(result, 'AAAA').failure).toBe('interrupted');
    expect(udp(result, 'A').t).toBeLessThan(5);
  });
});

describe('dnsProbe: inputs', () => {
  it('an IP-literal host resolves to itself and asks nobody', async () => {
    const server = await dnsServer(({ query, reply }) => query && reply(answer(query, [])));
    for (const [url, ip] of [
      ['http://127.0.0.1:8080/x', '127.0.0.1'],
      ['tcp://[::1]:443', '::1'],
    ]) {
      const result = await dnsProbe.run(probeInput(url!, [], testOptions({ resolver: server.address })), never());
      expect(result.details.addresses).toEqual([ip]);
      expect(result.details.resolutions).toEqual([]);
      expect(result.failure).toBeNull();
    }
    expect(server.queries).toEqual([]);
  });

  it('a bad resolver option becomes a failure string, not a crash', async () => {
    const options = { ...testOptions({ resolver: '127.0.0.1:9' }), resolver: 'not-an-address' };
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], options), never());
    expect(udp(result, 'A').failure).toMatch(/^unknown_failure: bad resolver address/);
    expect(result.failure).toBeNull(); // localhost via the system resolver
  });

  it('an unparseable URL is invalid input: the probe throws', async () => {
    await expect(dnsProbe.run(probeInput('not a url', [], testOptions({ resolver: '127.0.0.1:9' })), never())).rejects.toBeInstanceOf(ProbeInputError);
    await expect(dnsProbe.run(probeInput('ftp://x.test/', [], testOptions({ resolver: '127.0.0.1:9' })), never())).rejects.toBeInstanceOf(ProbeInputError);
  });

  it('parses resolver addresses and resolv.conf', () => {
    expect(parseResolverAddress('127.0.0.1:5353')).toEqual({ ip: '127.0.0.1', port: 5353 });
    expect(parseResolverAddress('[::1]:53')).toEqual({ ip: '::1', port: 53 });
    expect(parseResolverAddress('::1')).toEqual({ ip: '::1', port: 53 });
    expect(parseResolverAddress('10.0.0.1')).toEqual({ ip: '10.0.0.1', port: 53 });
    expect(parseResolverAddress('dns.test:53')).toBeNull();
    expect(parseResolverAddress('127.0.0.1:99999')).toBeNull();
    expect(firstNameserver('# c\nsearch x\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n')).toBe('192.0.2.53');
    expect(firstNameserver('options ndots:1\n')).toBeNull();
  });
});

describe('dnsProbe: DNS over HTTPS', () => {
  const pki = makePki();
  const leaf = pki.leaf(['doh.test'], { ips: ['127.0.0.1'] });
  let server: HttpsServer;
  let port = 0;
  let failNext = false;
  const seen: { method: string; type: string | undefined; id: number }[] = [];

  beforeAll(async () => {
    server = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (failNext) {
          res.writeHead(503).end();
          return;
        }
        const query = decodeMessage(Buffer.concat(chunks));
        seen.push({ method: req.method!, type: req.headers['content-type'], id: query.id });
        const body = answer(query, addressAnswer(query, '10.10.34.35', 'd0::11'));
        res.writeHead(200, { 'content-type': 'application/dns-message' }).end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('POSTs application/dns-message with ID 0 and records both answers', async () => {
    const udpServer = await dnsServer(({ query, reply }) => query && reply(answer(query, [])));
    const dohUrl = `https://127.0.0.1:${port}/dns-query`;
    const result = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: udpServer.address, dohUrl, extraCaPem: pki.ca.cert })), never());
    const doh = result.details.resolutions.filter((r) => r.engine === 'doh');
    expect(doh.map((r) => [r.query_type, r.resolver, r.failure, r.answers.map((a) => a.value)])).toEqual([
      ['A', dohUrl, null, ['10.10.34.35']],
      ['AAAA', dohUrl, null, ['d0::11']],
    ]);
    expect(doh.flatMap((r) => r.bogons)).toEqual(['10.10.34.35', 'd0::11']);
    expect(result.details.addresses).toEqual(expect.arrayContaining(['10.10.34.35', 'd0::11']));
    expect(seen.every((s) => s.method === 'POST' && s.type === 'application/dns-message' && s.id === 0)).toBe(true);
  });

  it('an untrusted DoH certificate is ssl_unknown_authority; an HTTP error is a failure string', async () => {
    const udpServer = await dnsServer(({ query, reply }) => query && reply(answer(query, [])));
    const dohUrl = `https://127.0.0.1:${port}/dns-query`;
    const untrusted = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: udpServer.address, dohUrl })), never());
    for (const r of untrusted.details.resolutions.filter((x) => x.engine === 'doh')) expect(r.failure).toBe('ssl_unknown_authority');
    failNext = true;
    try {
      const failing = await dnsProbe.run(probeInput(LOCALHOST, [], testOptions({ resolver: udpServer.address, dohUrl, extraCaPem: pki.ca.cert })), never());
      for (const r of failing.details.resolutions.filter((x) => x.engine === 'doh')) expect(r.failure).toBe('unknown_failure: DoH server answered HTTP 503');
    } finally {
      failNext = false;
    }
  });
});

describe('dnsProbe: the system resolver, in a namespace of our own', () => {
  // Inside: only lo, resolv.conf -> 127.0.0.1:53 where the child runs our
  // DNS server. The UDP client uses the resolv.conf default there too.
  let ns: TestNetns;
  beforeAll(() => {
    ns = TestNetns.create();
  });
  afterAll(() => ns?.destroy());

  const run = (mode: string, options: Record<string, unknown> = {}) =>
    ns.child<ProbeResult<DnsDetails>>({
      kind: 'probe',
      probe: 'dns',
      url: 'https://www.blocked.test/',
      options: { resolver: '', timeoutMs: 2_000, dnsListenWindowMs: 200, ...options },
      dns: { mode, v4: '10.10.34.36' },
    });

  it('NXDOMAIN: the top-level failure is the system resolver\'s dns_nxdomain_error', async () => {
    const result = await run('nxdomain');
    expect(result.failure).toBe('dns_nxdomain_error');
    expect(result.failed_operation).toBe('resolve');
    expect(result.details.resolutions[0]).toMatchObject({ engine: 'system', failure: 'dns_nxdomain_error' });
    expect(result.details.resolutions[1]).toMatchObject({ engine: 'udp', resolver: '127.0.0.1:53', rcode: 'NXDOMAIN', failure: 'dns_nxdomain_error' });
    expect(result.details.addresses).toEqual([]);
  });

  it('SERVFAIL: getaddrinfo can only say EAI_AGAIN; the UDP client says dns_servfail_error', async () => {
    const result = await run('servfail');
    expect(result.failure).toBe('dns_temporary_failure');
    expect(result.details.resolutions.slice(1).map((r) => r.failure)).toEqual(['dns_servfail_error', 'dns_servfail_error']);
  });

  it('REFUSED is dns_refused_error on the UDP client', async () => {
    const result = await run('refused');
    expect(result.details.resolutions.slice(1).map((r) => r.failure)).toEqual(['dns_refused_error', 'dns_refused_error']);
    expect(result.failure).not.toBeNull();
  });

  it('silence: our deadline ends the system lookup with generic_timeout_error', async () => {
    const result = await run('silent', { timeoutMs: 400 });
    expect(result.failure).toBe('generic_timeout_error');
    expect(result.details.resolutions.map((r) => r.failure)).toEqual(['generic_timeout_error', 'generic_timeout_error', 'generic_timeout_error']);
  });

  describe('resolveNonexistentName: does the local resolver rewrite NXDOMAIN?', () => {
    const check = (mode: string) =>
      ns.child<NonexistentNameCheck>({ kind: 'nonexistent-name', options: { resolver: '', timeoutMs: 2_000, dnsListenWindowMs: 200 }, dns: { mode, v4: '198.51.100.7' } });

    it('a resolver that answers every name (an advertising page for missing ones): its address, for a random .com name', async () => {
      const result = await check('answer');
      // Random letters only: nothing in the name tells a censor watching DNS that rasad asked.
      expect(result.name).toMatch(/^[a-z]{10,15}\.com$/);
      expect(result.addresses).toEqual(['198.51.100.7']);
      expect(result.failures).toMatchObject({ system: null, 'udp A': null });
    });

    it('an honest resolver: NXDOMAIN from both local resolvers, no address', async () => {
      const result = await check('nxdomain');
      expect(result.addresses).toEqual([]);
      expect(result.failures).toMatchObject({ system: 'dns_nxdomain_error', 'udp A': 'dns_nxdomain_error', 'udp AAAA': 'dns_nxdomain_error' });
    });

    it('a new random name each time', async () => {
      // One after the other: each child runs its own DNS server on the namespace's port 53.
      const a = await check('nxdomain');
      const b = await check('nxdomain');
      expect(a.name).not.toBe(b.name);
    });
  });

  it('an injected answer reaches every resolution and is flagged as a bogon', async () => {
    const result = await run('answer');
    expect(result.failure).toBeNull();
    expect(result.details.addresses).toEqual(['10.10.34.36']);
    expect(result.details.resolutions[0]!.bogons).toEqual(['10.10.34.36']);
    expect(result.details.resolutions[1]!.bogons).toEqual(['10.10.34.36']);
  });
});
