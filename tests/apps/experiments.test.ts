// The app experiments as the sweep sees them: each plans only its own
// app://<name> input, retries a failed attempt, and tells whether the
// attempt reached the service; the bundled Signal CA is the one documented.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SIGNAL, TELEGRAM, WHATSAPP, FACEBOOK_MESSENGER, endpointsOf } from '../../probes/app_endpoints.js';
import { SIGNAL_CA_PEM } from '../../probes/app_signal_ca.js';
import type { ProbeKind, ProbeResult, Target } from '../../probes/types.js';
import { facebookMessengerExperiment } from '../../src/experiments/facebook_messenger/index.js';
import { signalExperiment } from '../../src/experiments/signal/index.js';
import { telegramExperiment } from '../../src/experiments/telegram/index.js';
import { whatsappExperiment } from '../../src/experiments/whatsapp/index.js';

const ALL = [telegramExperiment, whatsappExperiment, signalExperiment, facebookMessengerExperiment];

function target(...inputs: string[]): Target {
  return { raw: inputs[0]!, category: 'COMT', tags: [], inputs };
}

describe('app experiments: planning', () => {
  it('each takes exactly its own app:// input, and only when its probe is wanted', () => {
    const everything = new Set(ALL.map((e) => e.kind as ProbeKind));
    for (const e of ALL) {
      expect(e.plan(target(`app://${e.kind}`), everything)).toEqual([{ url: `app://${e.kind}`, probes: [e.kind] }]);
      expect(e.plan(target(`app://${e.kind}`), new Set())).toEqual([]);
      for (const other of ALL.filter((o) => o !== e)) expect(e.plan(target(`app://${other.kind}`), everything)).toEqual([]);
      expect(e.plan(target('https://web.telegram.org/', 'http://web.telegram.org/'), everything)).toEqual([]);
      expect(e.plan(target('tcp://149.154.175.50:443'), everything)).toEqual([]);
    }
  });

  it('probe kind, unit kind and OONI test name are all the app name', () => {
    for (const e of ALL) {
      expect(e.probes.map((p) => p.kind)).toEqual([e.kind]);
      expect(e.ooni.testName(`app://${e.kind}`)).toBe(e.kind);
      expect(e.schedule).toBe('web');
      expect(e.webControl).toBe(false);
    }
  });
});

describe('app experiments: retries and outcome', () => {
  const record = (failure: string | null, details: unknown): ProbeResult => ({ probe: 'telegram', started_at: '2026-08-01T10:00:00.000Z', runtime_ms: 5, failure, failed_operation: failure ? 'connect' : null, details });
  const dc = (failure: string | null) => ({ endpoint: '149.154.175.50:80', hostname: null, port: 80, ip: '149.154.175.50', t0: 0, t: 0, failure, failed_operation: failure ? 'connect' : null, connect_ms: null, attempts: [] });

  it('a failed attempt is retried, a clean one is not', () => {
    expect(telegramExperiment.needsRetry({ telegram: record('connection_refused', { datacenters: [dc('connection_refused')], web: [] }) } as never, 'app://telegram')).toBe(true);
    expect(telegramExperiment.needsRetry({ telegram: record(null, { datacenters: [dc(null)], web: [] }) } as never, 'app://telegram')).toBe(false);
  });

  it('an attempt where one data centre answered reached the service, even if the record carries a web failure', () => {
    expect(telegramExperiment.outcome({ telegram: record('connection_reset', { datacenters: [dc(null)], web: [] }) } as never).failed).toBe(false);
    expect(telegramExperiment.outcome({ telegram: record('generic_timeout_error', { datacenters: [dc('generic_timeout_error')], web: [] }) } as never)).toEqual({
      failed: true,
      failures: ['generic_timeout_error'],
    });
  });
});

describe('app endpoints', () => {
  it("OONI's lists: six Telegram data centres on 80 and 443, e1..e16 on 443 and 5222, four Signal hosts, seven Messenger services", () => {
    expect(TELEGRAM.datacenters).toHaveLength(12);
    expect(TELEGRAM.datacenters).toContain('95.161.76.100:443');
    expect(WHATSAPP.endpoints).toHaveLength(32);
    expect(WHATSAPP.endpoints).toContain('e16.whatsapp.net:5222');
    expect(SIGNAL.backends).toHaveLength(4);
    expect(FACEBOOK_MESSENGER.services.map((s) => s.key)).toEqual(['stun', 'b_api', 'b_graph', 'edge', 'external_cdn', 'scontent_cdn', 'star']);
  });

  it('an override replaces one list and keeps the others', () => {
    const options = { appEndpoints: { telegram: { web: ['http://127.0.0.1:1/'] } } };
    expect(endpointsOf('telegram', options)).toEqual({ datacenters: TELEGRAM.datacenters, web: ['http://127.0.0.1:1/'] });
    expect(endpointsOf('signal', {}).caPem).toBe(SIGNAL_CA_PEM);
  });

  it("the bundled Signal CA is Signal Messenger's, a CA, valid until 2032", () => {
    const cert = new X509Certificate(SIGNAL_CA_PEM);
    expect(cert.subject).toContain('CN=Signal Messenger');
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(new Date(cert.validTo).getUTCFullYear()).toBe(2032);
    expect(cert.fingerprint256).toBe('DD:B0:F9:2B:B9:5C:8D:6F:D2:02:EA:6E:8C:C5:CC:D1:82:B5:44:F8:CD:69:6F:47:D5:80:65:9D:DC:9D:F6:5A');
  });
});
