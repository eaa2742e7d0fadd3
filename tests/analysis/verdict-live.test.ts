// End to end on loopback: the real probes measure loopback sites that
// misbehave for the probe (reset, blockpage, SNI filter, injected DNS), the
// real control helper measures them too, and judgeSweep must reach the
// verdict. This guards the analysis against drift from what the probes
// really record. Only loopback is ever contacted: the UDP resolver is a
// local fake, the name is "localhost" (/etc/hosts), and no probe runs on an
// address that is not loopback.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server as NetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, RCODE } from '../../probes/dns_codec.js';
import { PROBES } from '../../src/experiments/registry.js';
import type { DnsDetails, ProbeKind, ProbeOptions, ProbeResult, Target } from '../../probes/types.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeSweep, needsRetry, type AttemptResults, type UnitObservation } from '../../src/analysis/verdict.js';
import { DEFAULT_PROBE_OPTIONS } from '../../src/config/schema.js';
import { queryControl } from '../../src/control/client.js';
import { startHelper, type RunningHelper } from '../../src/control/helper.js';
import type { VerdictResult } from '../../src/model.js';
import { makePki } from '../helpers/certs.js';
import { httpSite, httpsSite, pageHandler, type Site } from '../control/sites.js';

const CENSORED_UA = 'rasad-live-test-client';
const IRAN_BLOCKPAGE = '<html><head><title>M1-6</title></head><body><iframe src="http://10.10.34.36/?type=Invalid Keyword&policy=MainPolicy " style="width: 100%; height: 100%"></iframe></body></html>';
const pki = makePki('rasad live test CA');

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
});

/** A UDP resolver on loopback: `answer()` says what the A query for localhost gets, in order (several = several responses). */
async function fakeResolver(answer: () => string[][]): Promise<string> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    let msg;
    try {
      msg = decodeMessage(query);
    } catch {
      return;
    }
    const q = msg.questions[0];
    if (!q) return;
    const responses = q.type === 1 ? answer() : [[]];
    for (const addrs of responses) {
      const reply = encodeMessage({ id: msg.id, rcode: RCODE.NOERROR, questions: [{ name: q.name, type: q.type }], answers: addrs.map((a) => ({ name: q.name, type: 'A' as const, ttl: 60, data: a })) });
      socket.send(reply, peer.port, peer.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return `127.0.0.1:${(socket.address() as AddressInfo).port}`;
}

/** A TCP proxy in front of `backendPort` that resets any connection whose first bytes carry `blockedSni`. */
async function sniFilter(backendPort: number, blockedSni: string): Promise<number> {
  const server: NetServer = createNetServer((client) => {
    client.once('data', (first) => {
      if (first.includes(Buffer.from(blockedSni))) {
        client.resetAndDestroy();
        return;
      }
      const upstream = netConnect(backendPort, '127.0.0.1', () => {
        upstream.write(first);
        client.pipe(upstream).pipe(client);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function options(resolver: string): ProbeOptions {
  return { ...DEFAULT_PROBE_OPTIONS, resolver, timeoutMs: 2000, dnsListenWindowMs: 150, extraCaPem: pki.ca.cert, userAgent: CENSORED_UA };
}

const target = (url: string): Target => ({ raw: url, category: 'MISC', tags: [], inputs: [url] });
const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/** One attempt of the web probes, as the sweep runs them: DNS first, its addresses handed on. Stops before any non-loopback address. */
async function measure(url: string, kinds: ProbeKind[], opts: ProbeOptions): Promise<AttemptResults> {
  const results: Record<string, ProbeResult> = {};
  let addresses: string[] = [];
  for (const kind of kinds) {
    if (kind !== 'dns' && !addresses.every(isLoopback)) throw new Error(`refusing to probe beyond loopback: ${addresses.join(', ')}`);
    const result = await PROBES[kind].run({ target: target(url), url, addresses, options: opts }, AbortSignal.timeout(20_000));
    results[kind] = result;
    if (kind === 'dns') addresses = (result.details as DnsDetails).addresses;
  }
  return results as AttemptResults;
}

async function judgeLive(url: string, kinds: ProbeKind[], opts: ProbeOptions, helperUrls: string[]): Promise<{ verdict: VerdictResult; attempt: AttemptResults }> {
  const attempt = await measure(url, kinds, opts);
  const addresses = (attempt.dns?.details.addresses ?? []).filter(isLoopback);
  const port = new URL(url).port;
  const control = await queryControl(helperUrls, { url, tcpConnect: addresses.map((ip) => `${ip}:${port}`) }, AbortSignal.timeout(20_000));
  const unit: UnitObservation = { kind: 'web', target: target(url), url, attempts: [attempt], control: control.answer, controlFailed: control.answer === null };
  return { verdict: judgeSweep([unit], { fingerprints: defaultFingerprints() })[0]!, attempt };
}

let helper: RunningHelper;
let deadHelper: string;
let resolver: string;
let dnsAnswer: string[][] = [['127.0.0.1']];
beforeAll(async () => {
  helper = await startHelper({ listen: '127.0.0.1:0', allowPrivate: true, extraCaPem: pki.ca.cert, timeoutMs: 2000 });
  closers.push(() => helper.close());
  const gone = await httpSite(pageHandler);
  await gone.close();
  deadHelper = `http://127.0.0.1:${gone.port}/`;
  resolver = await fakeResolver(() => dnsAnswer);
});

async function site(handler: Parameters<typeof httpSite>[0]): Promise<Site> {
  const s = await httpSite(handler);
  closers.push(() => s.close());
  return s;
}

describe('live verdicts on loopback', () => {
  it('ok: a site that treats the probe like anyone else', async () => {
    dnsAnswer = [['127.0.0.1']];
    const s = await site(pageHandler);
    const { verdict, attempt } = await judgeLive(`http://localhost:${s.port}/`, ['dns', 'tcp', 'http'], options(resolver), [helper.url]);
    expect(verdict.verdict).toBe('ok');
    expect(needsRetry(attempt)).toBe(false);
  });

  it('http.reset: the exchange is reset after the probe\'s request, the control fetches the page', async () => {
    dnsAnswer = [['127.0.0.1']];
    const s = await site((req, res) => {
      if (req.headers['user-agent'] === CENSORED_UA) req.socket.resetAndDestroy();
      else pageHandler(req, res);
    });
    const { verdict, attempt } = await judgeLive(`http://localhost:${s.port}/`, ['dns', 'tcp', 'http'], options(resolver), [helper.url]);
    expect(attempt.http?.failure).toBe('connection_reset');
    expect(verdict).toMatchObject({ verdict: 'http.reset', evidence: { http_failure: 'connection_reset', failed_operation: 'http_round_trip' } });
    expect(needsRetry(attempt)).toBe(true);
  });

  it('http.blockpage: the Iranian blockpage is served to the probe only', async () => {
    dnsAnswer = [['127.0.0.1']];
    const s = await site((req, res) => {
      if (req.headers['user-agent'] !== CENSORED_UA) return pageHandler(req, res);
      res.writeHead(403, { connection: 'close', 'content-type': 'text/html' });
      res.end(IRAN_BLOCKPAGE);
    });
    const { verdict } = await judgeLive(`http://localhost:${s.port}/`, ['dns', 'tcp', 'http'], options(resolver), [helper.url]);
    expect(verdict).toMatchObject({ verdict: 'http.blockpage', evidence: { fingerprint: 'ir.http.iframe_10_10' } });
  });

  it('dns.injected: the resolver answers 10.10.34.34 first (the probe stops at DNS: that address is not contacted)', async () => {
    dnsAnswer = [['10.10.34.34'], ['127.0.0.1']];
    const s = await site(pageHandler);
    const { verdict, attempt } = await judgeLive(`http://localhost:${s.port}/`, ['dns'], options(resolver), [helper.url]);
    expect(attempt.dns?.details.addresses).toContain('10.10.34.34');
    expect(verdict).toMatchObject({ verdict: 'dns.injected', evidence: { fingerprint: 'ir.dns.10_10_34_34' } });
  });

  it('tls.reset: the SNI is reset while the innocuous SNI completes, with no control answering', async () => {
    dnsAnswer = [['127.0.0.1']];
    const backend = await httpsSite(pageHandler, pki.leaf(['localhost']));
    closers.push(() => backend.close());
    const port = await sniFilter(backend.port, 'localhost');
    const { verdict, attempt } = await judgeLive(`https://localhost:${port}/`, ['dns', 'tcp', 'tls', 'http'], options(resolver), [deadHelper]);
    const handshakes = attempt.tls!.details.handshakes;
    expect(handshakes.find((h) => !h.innocuous)?.failure).toBe('connection_reset');
    expect(handshakes.find((h) => h.innocuous)?.cert_validation).toBe('wrong_host');
    expect(verdict).toMatchObject({ verdict: 'tls.reset', evidence: { control_failed: true } });
  });

  it('ok over https without a control: the certificate validates for the name', async () => {
    dnsAnswer = [['127.0.0.1']];
    const backend = await httpsSite(pageHandler, pki.leaf(['localhost']));
    closers.push(() => backend.close());
    const { verdict } = await judgeLive(`https://localhost:${backend.port}/`, ['dns', 'tcp', 'tls', 'http'], options(resolver), [deadHelper]);
    expect(verdict.verdict).toBe('ok');
  });

  it('down: nothing listens, and the control cannot connect either', async () => {
    dnsAnswer = [['127.0.0.1']];
    const gone = await httpSite(pageHandler);
    await gone.close();
    const { verdict } = await judgeLive(`http://localhost:${gone.port}/`, ['dns', 'tcp', 'http'], options(resolver), [helper.url]);
    expect(verdict.verdict).toBe('down');
  });
});
