// The four app probes end to end against real loopback servers: servers
// that answer, refuse, reset, hang, or serve a certificate from the wrong
// authority. Every endpoint list and host name is overridden to loopback.
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { facebookMessengerProbe } from '../../probes/app_facebook_messenger.js';
import { signalProbe } from '../../probes/app_signal.js';
import { telegramProbe } from '../../probes/app_telegram.js';
import { whatsappProbe } from '../../probes/app_whatsapp.js';
import { ProbeInputError, startPhase } from '../../probes/net.js';
import { PHASE_SIGNAL_LISTENERS } from '../../probes/phase.js';
import type { AttemptResults, UnitObservation } from '../../src/analysis/observation.js';
import { defaultFingerprints } from '../../src/analysis/fingerprints.js';
import { judgeFacebookMessenger } from '../../src/experiments/facebook_messenger/judge.js';
import { judgeSignal } from '../../src/experiments/signal/judge.js';
import { judgeTelegram } from '../../src/experiments/telegram/judge.js';
import { judgeWhatsapp } from '../../src/experiments/whatsapp/judge.js';
import { makePki } from '../helpers/certs.js';
import { addressAnswer, answer, udpDnsServer } from '../helpers/loopback/dns.js';
import { IRAN_BLOCKPAGE_BODY, rawHttpServer, respond } from '../helpers/loopback/http.js';
import { never } from '../helpers/loopback/options.js';
import { hangServer, refusedPort, resetOnFirstData } from '../helpers/loopback/tcp.js';
import { answeringHttpsServer, answeringServer, appInput, cleanups, track } from './loopback.js';

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const pki = makePki('app test CA');
const fingerprints = defaultFingerprints();

function unitOf(kind: string, attempt: AttemptResults): UnitObservation {
  return { kind, target: { raw: `app://${kind}`, category: 'COMT', tags: [], inputs: [`app://${kind}`] }, url: `app://${kind}`, attempts: [attempt], control: null, controlFailed: false };
}

describe('telegram probe', () => {
  it('POSTs to each data centre, records who answers, who refuses and who resets, and fetches the web client over http and https', async () => {
    const dc = await answeringServer(501);
    const refused = await refusedPort();
    const reset = await track(resetOnFirstData());
    const web = await answeringServer(200, '<title>Telegram Web</title>');
    const webTls = await answeringHttpsServer(pki.leaf(['web.telegram.org']));
    const input = appInput(
      'telegram',
      {
        telegram: {
          datacenters: [`127.0.0.1:${dc.port}`, `127.0.0.1:${refused}`, `127.0.0.1:${reset.port}`],
          web: [`http://web.telegram.org:${web.port}/`, `https://web.telegram.org:${webTls.port}/`],
        },
        hosts: { 'web.telegram.org': ['127.0.0.1'] },
      },
      { extraCaPem: pki.ca.cert },
    );
    const result = await telegramProbe.run(input, never());
    expect(result.probe).toBe('telegram');
    expect(result.failure).toBeNull();
    const [ok, noPort, cut] = result.details.datacenters;
    expect(ok).toMatchObject({ ip: '127.0.0.1', port: dc.port, failure: null, status_code: 501 });
    expect(noPort).toMatchObject({ failure: 'connection_refused', failed_operation: 'connect', status_code: null });
    expect(cut).toMatchObject({ failure: 'connection_reset', failed_operation: 'http_round_trip' });
    expect(result.details.web.map((w) => [w.failure, w.status_code])).toEqual([
      [null, 200],
      [null, 200],
    ]);
    expect(judgeTelegram(unitOf('telegram', { telegram: result }), { fingerprints })).toMatchObject({ verdict: 'ok' });
  });

  it('every data centre refused: tcp.blocked, with the connect failure on the envelope', async () => {
    const a = await refusedPort();
    const b = await refusedPort();
    const web = await answeringServer(200);
    const input = appInput('telegram', { telegram: { datacenters: [`127.0.0.1:${a}`, `127.0.0.1:${b}`], web: [`http://127.0.0.1:${web.port}/`] } });
    const result = await telegramProbe.run(input, never());
    expect(result.failure).toBe('connection_refused');
    expect(result.failed_operation).toBe('connect');
    const verdict = judgeTelegram(unitOf('telegram', { telegram: result }), { fingerprints });
    expect(verdict.verdict).toBe('tcp.blocked');
    expect(verdict.evidence).toMatchObject({ telegram_tcp_blocking: true, telegram_http_blocking: true });
  });

  it('a data centre that accepts and never answers the POST fails with a timeout in the HTTP exchange', async () => {
    const silent = await track(hangServer());
    const input = appInput('telegram', { telegram: { datacenters: [`127.0.0.1:${silent.port}`], web: [] } }, { timeoutMs: 300 });
    const result = await telegramProbe.run(input, never());
    expect(result.details.datacenters[0]).toMatchObject({ failure: 'generic_timeout_error', failed_operation: 'http_round_trip' });
    const verdict = judgeTelegram(unitOf('telegram', { telegram: result }), { fingerprints });
    expect(verdict.verdict).toBe('http.reset');
    expect(verdict.evidence).toMatchObject({ telegram_tcp_blocking: false, telegram_http_blocking: true });
  });

  it('a web client that serves a blockpage: http.blockpage', async () => {
    const dc = await answeringServer(501);
    const blockpage = await track(rawHttpServer((_req, socket) => respond(socket, 403, { 'content-type': 'text/html' }, IRAN_BLOCKPAGE_BODY)));
    const input = appInput('telegram', {
      telegram: { datacenters: [`127.0.0.1:${dc.port}`], web: [`http://web.telegram.org:${blockpage.port}/`] },
      hosts: { 'web.telegram.org': ['127.0.0.1'] },
    });
    const result = await telegramProbe.run(input, never());
    expect(judgeTelegram(unitOf('telegram', { telegram: result }), { fingerprints }).verdict).toBe('http.blockpage');
  });

  it('refuses any input but app://telegram', async () => {
    const input = { ...appInput('telegram', {}), url: 'https://web.telegram.org/' };
    await expect(telegramProbe.run(input, never())).rejects.toBeInstanceOf(ProbeInputError);
  });
});

describe('whatsapp probe', () => {
  it('connects to each endpoint at its pinned addresses, fetches registration and web; a wrong certificate is the web failure', async () => {
    const chat = await answeringServer();
    const refused = await refusedPort();
    const registration = await answeringHttpsServer(pki.leaf(['v.whatsapp.net']), 405);
    const stranger = makePki('interceptor CA');
    const web = await answeringHttpsServer(stranger.leaf(['web.whatsapp.com']));
    const input = appInput(
      'whatsapp',
      {
        whatsapp: {
          endpoints: [`e1.whatsapp.net:${chat.port}`, `e1.whatsapp.net:${refused}`, `e2.whatsapp.net:${refused}`],
          registration: `https://v.whatsapp.net:${registration.port}/v2/register`,
          web: `https://web.whatsapp.com:${web.port}/`,
        },
        hosts: { 'e1.whatsapp.net': ['127.0.0.1'], 'e2.whatsapp.net': ['127.0.0.2'], 'v.whatsapp.net': ['127.0.0.1'], 'web.whatsapp.com': ['127.0.0.1'] },
      },
      { extraCaPem: pki.ca.cert },
    );
    const result = await whatsappProbe.run(input, never());
    expect(result.details.resolutions.map((r) => [r.hostname, r.engine, r.addresses])).toEqual([
      ['e1.whatsapp.net', 'pinned', ['127.0.0.1']],
      ['e2.whatsapp.net', 'pinned', ['127.0.0.2']],
    ]);
    expect(result.details.endpoints.map((e) => [e.endpoint.split(':')[0], e.ip, e.failure])).toEqual([
      ['e1.whatsapp.net', '127.0.0.1', null],
      ['e1.whatsapp.net', '127.0.0.1', 'connection_refused'],
      ['e2.whatsapp.net', '127.0.0.2', 'connection_refused'],
    ]);
    expect(result.details.registration).toMatchObject({ failure: null, status_code: 405 });
    expect(result.details.web).toMatchObject({ failure: 'ssl_unknown_authority', failed_operation: 'tls_handshake' });
    // The endpoints work, so the envelope carries the first fetch failure.
    expect(result.failure).toBe('ssl_unknown_authority');
    const verdict = judgeWhatsapp(unitOf('whatsapp', { whatsapp: result }), { fingerprints });
    expect(verdict.verdict).toBe('inconclusive');
    expect(verdict.verdict_reason).toMatch(/interception/);
    expect(verdict.evidence).toMatchObject({ whatsapp_endpoints_status: 'ok', whatsapp_endpoints_blocked: ['e2.whatsapp.net'], registration_server_status: 'ok', whatsapp_web_status: 'blocked' });
  });

  it('every endpoint refused: tcp.blocked', async () => {
    const refused = await refusedPort();
    const registration = await answeringHttpsServer(pki.leaf(['v.whatsapp.net']));
    const input = appInput(
      'whatsapp',
      {
        whatsapp: { endpoints: [`e1.whatsapp.net:${refused}`], registration: `https://v.whatsapp.net:${registration.port}/`, web: `https://v.whatsapp.net:${registration.port}/` },
        hosts: { 'e1.whatsapp.net': ['127.0.0.1'], 'v.whatsapp.net': ['127.0.0.1'] },
      },
      { extraCaPem: pki.ca.cert },
    );
    const result = await whatsappProbe.run(input, never());
    expect(result).toMatchObject({ failure: 'connection_refused', failed_operation: 'connect' });
    expect(judgeWhatsapp(unitOf('whatsapp', { whatsapp: result }), { fingerprints }).verdict).toBe('tcp.blocked');
  });
});

describe('signal probe', () => {
  it("trusts the app's own CA: a host signed by it answers, a host signed by another CA fails validation", async () => {
    const signalCa = makePki('stand-in Signal CA');
    const chat = await answeringHttpsServer(signalCa.leaf(['chat.signal.org']), 404);
    const storage = await answeringHttpsServer(pki.leaf(['storage.signal.org']), 200);
    const input = appInput('signal', {
      signal: { backends: [`https://chat.signal.org:${chat.port}/`, `https://storage.signal.org:${storage.port}/`], caPem: signalCa.ca.cert },
      hosts: { 'chat.signal.org': ['127.0.0.1'], 'storage.signal.org': ['127.0.0.1'] },
    });
    const result = await signalProbe.run(input, never());
    expect(result.details.backends.map((b) => [b.failure, b.status_code])).toEqual([
      [null, 404],
      ['ssl_unknown_authority', null],
    ]);
    expect(result).toMatchObject({ failure: 'ssl_unknown_authority', failed_operation: 'tls_handshake' });
    const verdict = judgeSignal(unitOf('signal', { signal: result }), { fingerprints });
    expect(verdict.evidence).toMatchObject({ signal_backend_status: 'blocked', signal_backend_failure: 'ssl_unknown_authority' });
  });

  it("with the bundled CA, a server whose certificate is from any other authority is refused", async () => {
    const chat = await answeringHttpsServer(pki.leaf(['chat.signal.org']));
    const input = appInput('signal', { signal: { backends: [`https://chat.signal.org:${chat.port}/`] }, hosts: { 'chat.signal.org': ['127.0.0.1'] } });
    const result = await signalProbe.run(input, never());
    expect(result.details.backends[0]).toMatchObject({ failure: 'ssl_unknown_authority' });
  });

  it('a host that resets the handshake: tls.reset', async () => {
    const reset = await track(resetOnFirstData());
    const input = appInput('signal', { signal: { backends: [`https://chat.signal.org:${reset.port}/`] }, hosts: { 'chat.signal.org': ['127.0.0.1'] } });
    const result = await signalProbe.run(input, never());
    expect(result.details.backends[0]).toMatchObject({ failure: 'connection_reset', failed_operation: 'tls_handshake' });
    expect(judgeSignal(unitOf('signal', { signal: result }), { fingerprints }).verdict).toBe('tls.reset');
  });
});

describe('facebook_messenger probe', () => {
  it('resolves each host over UDP at the loopback resolver, records the answers, and connects to the answered address', async () => {
    const accepting = await answeringServer();
    const refused = await refusedPort();
    const dns = await udpDnsServer(({ query, reply }) => {
      if (!query) return;
      const name = query.questions[0]?.name.replace(/\.$/, '') ?? '';
      if (name === 'star.c10r.facebook.com') return reply(answer(query, [], 3));
      reply(answer(query, addressAnswer(query, name === 'edge-mqtt.facebook.com' ? '127.0.0.3' : '127.0.0.1', null)));
    });
    cleanups.push(() => dns.close());
    const input = appInput(
      'facebook_messenger',
      {
        facebook_messenger: {
          services: [
            { key: 'stun', hostname: 'stun.fbsbx.com', port: null },
            { key: 'b_api', hostname: 'b-api.facebook.com', port: accepting.port },
            { key: 'edge', hostname: 'edge-mqtt.facebook.com', port: refused },
            { key: 'star', hostname: 'star.c10r.facebook.com', port: accepting.port },
          ],
        },
      },
      { resolver: dns.address, dnsListenWindowMs: 50 },
    );
    const result = await facebookMessengerProbe.run(input, never());
    const [stun, bApi, edge, star] = result.details.services;
    expect(stun).toMatchObject({ addresses: ['127.0.0.1'], connect: null });
    expect(bApi!.connect).toMatchObject({ ip: '127.0.0.1', failure: null });
    expect(edge).toMatchObject({ addresses: ['127.0.0.3'] });
    expect(edge!.connect).toMatchObject({ ip: '127.0.0.3', failure: 'connection_refused', failed_operation: 'connect' });
    expect(star).toMatchObject({ addresses: [], connect: null });
    expect(star!.resolutions.map((r) => r.failure)).toEqual(['dns_nxdomain_error', 'dns_nxdomain_error']);
    expect(dns.queries.length).toBe(8);

    // Facebook's AS for the loopback answers: DNS is consistent; the NXDOMAIN decides before the refused connect.
    const asnOf = (ip: string) => (ip.startsWith('127.') ? 32934 : null);
    const verdict = judgeFacebookMessenger(unitOf('facebook_messenger', { facebook_messenger: result }), { fingerprints, asnOf });
    expect(verdict.verdict).toBe('dns.nxdomain');
    expect(verdict.evidence).toMatchObject({ facebook_dns_blocking: true, facebook_tcp_blocking: true, facebook_b_api_reachable: true, facebook_edge_reachable: false, facebook_stun_dns_consistent: true });
    // Another AS for every answer: the resolver is lying.
    const foreign = judgeFacebookMessenger(unitOf('facebook_messenger', { facebook_messenger: result }), { fingerprints, asnOf: () => 12880 });
    expect(foreign.verdict).toBe('dns.injected');
  });
});

describe('a probe that runs its steps at once on one signal', () => {
  // Node warns ("MaxListenersExceededWarning ... 11 abort listeners") when an
  // EventTarget passes 10 listeners. The sweep gives each probe a phase's
  // signal (probes/phase.ts); a Telegram probe connects to its data centres
  // 16 at a time on it, each connect listening while it runs.
  async function leakWarnings(signal: AbortSignal): Promise<string[]> {
    const warnings: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const dc = await answeringServer(501);
      const input = appInput('telegram', { telegram: { datacenters: Array.from({ length: 24 }, () => `127.0.0.1:${dc.port}`), web: [] } });
      const result = await telegramProbe.run(input, signal);
      expect(result.details.datacenters.map((d) => d.status_code)).toEqual(Array(24).fill(501));
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      return warnings;
    } finally {
      process.off('warning', onWarning);
    }
  }

  it('prints no leak warning under the phase the sweep gives it, and leaves no listener behind', async () => {
    const phase = startPhase(never(), 60_000, 'measurement');
    try {
      expect(await leakWarnings(phase.signal)).toEqual([]);
      expect(getEventListeners(phase.signal, 'abort')).toHaveLength(0);
    } finally {
      phase.dispose();
    }
  });

  it('on a plain signal, Node would have warned (what the sweep printed before)', async () => {
    expect((await leakWarnings(new AbortController().signal)).join('\n')).toMatch(/abort listeners added to \[AbortSignal\]/);
  });

  it('the phase signal still reports a true leak, past PHASE_SIGNAL_LISTENERS', async () => {
    const phase = startPhase(never(), 60_000, 'measurement');
    const warnings: string[] = [];
    const onWarning = (w: Error) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w.message));
    process.on('warning', onWarning);
    const listeners = Array.from({ length: PHASE_SIGNAL_LISTENERS + 1 }, () => () => {});
    try {
      for (const l of listeners) phase.signal.addEventListener('abort', l);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
    } finally {
      for (const l of listeners) phase.signal.removeEventListener('abort', l);
      process.off('warning', onWarning);
      phase.dispose();
    }
  });
});
