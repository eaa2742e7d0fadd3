// probe.appEndpoints: the messaging-app experiments' endpoint lists and
// pinned host names, set in the config file (OONI's lists change; a
// researcher updates them without a release). Loaded, merged across layers,
// checked with one-line errors, redacted in logs, and handed to the probes as
// ProbeOptions.appEndpoints (the sweep passes config.probe to every probe).
import { afterAll, describe, expect, it } from 'vitest';
import { endpointsOf, TELEGRAM } from '../../probes/app_endpoints.js';
import { signalProbe } from '../../probes/app_signal.js';
import { loadConfig, redactConfig } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/schema.js';
import { makePki } from '../helpers/certs.js';
import { rawHttpsServer, respond } from '../helpers/loopback/http.js';
import { probeInput } from '../helpers/loopback/options.js';
import type { TestServer } from '../helpers/loopback/tcp.js';
import { configFiles, errorOf } from './config-files.js';

const file = configFiles('apps');

const signalPki = makePki('stand-in Signal CA');

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('probe.appEndpoints: loading', () => {
  it('is absent by default: the probes use OONI lists', () => {
    const config = loadConfig({ env: {} });
    expect(config.probe.appEndpoints).toBeUndefined();
    expect(endpointsOf('telegram', config.probe)).toEqual(TELEGRAM);
  });

  it('replaces the lists it names, keeps the others, and pins host names', () => {
    const appEndpoints = {
      telegram: { datacenters: ['5.9.13.10:80', '5.9.13.10:443'] },
      whatsapp: { endpoints: ['e1.chat.example:443', 'e1.chat.example:5222', '[2001:db8::1]:5222'], registration: 'https://v.chat.example/v2/register' },
      signal: { backends: ['https://chat.signal.example/'], caPem: signalPki.ca.cert },
      facebook_messenger: { services: [{ key: 'stun', hostname: 'stun.fb.example', port: null }, { key: 'b_api', hostname: 'b-api.fb.example', port: 443 }] },
      hosts: { 'e1.chat.example': ['5.9.13.20', '2001:db8::20'] },
    };
    const config = loadConfig({ file: file({ probe: { appEndpoints } }), env: {} });
    expect(config.probe.appEndpoints).toEqual(appEndpoints);
    expect(endpointsOf('telegram', config.probe)).toEqual({ datacenters: appEndpoints.telegram.datacenters, web: TELEGRAM.web });
    expect(endpointsOf('whatsapp', config.probe).web).toBe('https://web.whatsapp.com/');
    // Everything else of probe keeps its default.
    expect({ ...config.probe, appEndpoints: undefined }).toEqual({ ...defaultConfig().probe, appEndpoints: undefined });
  });

  it('merges a later layer key by key: a list is replaced whole, pinned names add up', () => {
    const config = loadConfig({
      file: file({ probe: { appEndpoints: { telegram: { datacenters: ['5.9.13.10:80'], web: ['http://tg.example/'] }, hosts: { 'a.example': ['5.9.1.1'] } } } }),
      env: {},
      overrides: { probe: { appEndpoints: { telegram: { datacenters: ['5.9.13.11:443'] }, hosts: { 'b.example': ['5.9.1.2'] } } } },
    });
    expect(config.probe.appEndpoints).toEqual({
      telegram: { datacenters: ['5.9.13.11:443'], web: ['http://tg.example/'] },
      hosts: { 'a.example': ['5.9.1.1'], 'b.example': ['5.9.1.2'] },
    });
  });

  it("keeps Signal's CA out of a logged config", () => {
    const config = loadConfig({ file: file({ probe: { appEndpoints: { signal: { caPem: signalPki.ca.cert } } } }), env: {} });
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('BEGIN CERTIFICATE');
    expect(redactConfig(config).probe.appEndpoints?.signal?.caPem).toBe(`[${signalPki.ca.cert.length} characters of PEM]`);
    expect(config.probe.appEndpoints?.signal?.caPem).toBe(signalPki.ca.cert);
  });
});

describe('probe.appEndpoints: one-line errors', () => {
  const tooMany = Array.from({ length: 65 }, (_, i) => `5.9.13.${i}:443`);
  it.each<[string, unknown, string]>([
    ['an unknown app', { whatsap: {} }, 'unknown key probe.appEndpoints.whatsap (did you mean "whatsapp"?)'],
    ['an unknown list', { telegram: { dcs: [] } }, 'unknown key probe.appEndpoints.telegram.dcs (known keys: datacenters, web)'],
    ['a data centre named, not addressed', { telegram: { datacenters: ['dc1.example:443'] } }, 'probe.appEndpoints.telegram.datacenters[0] must be "ip:port", e.g. "149.154.175.50:443" (got "dc1.example:443")'],
    ['an empty list', { telegram: { datacenters: [] } }, 'probe.appEndpoints.telegram.datacenters must be a list of 1 to 64 data-centre "ip:port" endpoints (got [])'],
    ['too long a list', { telegram: { datacenters: tooMany } }, `probe.appEndpoints.telegram.datacenters must be a list of 1 to 64 data-centre "ip:port" endpoints (got ${JSON.stringify(tooMany).slice(0, 60)}…)`],
    ['a web URL that is not http(s)', { telegram: { web: ['ftp://web.example/'] } }, 'probe.appEndpoints.telegram.web[0] must be an http:// or https:// URL (got "ftp://web.example/")'],
    ['an endpoint without a port', { whatsapp: { endpoints: ['e1.chat.example'] } }, 'probe.appEndpoints.whatsapp.endpoints[0] must be "host:port", e.g. "e1.whatsapp.net:5222" (got "e1.chat.example")'],
    ['a port out of range', { whatsapp: { endpoints: ['e1.chat.example:65536'] } }, 'probe.appEndpoints.whatsapp.endpoints[0] must be "host:port", e.g. "e1.whatsapp.net:5222" (got "e1.chat.example:65536")'],
    ['a Signal backend over plain HTTP', { signal: { backends: ['http://chat.signal.example/'] } }, 'probe.appEndpoints.signal.backends[0] must be an https:// URL (got "http://chat.signal.example/")'],
    ['a CA that is not PEM', { signal: { caPem: 'MIIB...' } }, 'probe.appEndpoints.signal.caPem must be PEM text of one or more CA certificates (-----BEGIN CERTIFICATE----- ...) (got "MIIB...")'],
    [
      'a PEM block that does not parse',
      { signal: { caPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } },
      'probe.appEndpoints.signal.caPem must be PEM text of one or more CA certificates (-----BEGIN CERTIFICATE----- ...) (got "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE----…)',
    ],
    ['a Facebook service without its port', { facebook_messenger: { services: [{ key: 'b_api', hostname: 'b-api.fb.example' }] } }, 'probe.appEndpoints.facebook_messenger.services[0].port is required'],
    ['a Facebook service on port 0', { facebook_messenger: { services: [{ key: 'b_api', hostname: 'b-api.fb.example', port: 0 }] } }, 'probe.appEndpoints.facebook_messenger.services[0].port must be an integer from 1 to 65535, or null for a service measured by DNS only (got 0)'],
    ['a Facebook key OONI could not name', { facebook_messenger: { services: [{ key: 'B-API', hostname: 'b-api.fb.example', port: 443 }] } }, `probe.appEndpoints.facebook_messenger.services[0].key must be 1 to 32 lower-case letters, digits or "_" (OONI's facebook_<key>_... test keys) (got "B-API")`],
    ['a pinned name in upper case', { hosts: { 'Chat.Example': ['5.9.1.1'] } }, 'probe.appEndpoints.hosts must be a host name in lower case (got "Chat.Example")'],
    ['a pinned name with no address', { hosts: { 'chat.example': [] } }, 'probe.appEndpoints.hosts["chat.example"] must be a list of 1 to 16 IP addresses (got [])'],
    ['a pinned name to a name', { hosts: { 'chat.example': ['other.example'] } }, 'probe.appEndpoints.hosts["chat.example"][0] must be an IP address (got "other.example")'],
  ])('%s', (_what, appEndpoints, reason) => {
    const path = file({ probe: { appEndpoints } });
    const error = errorOf(() => loadConfig({ file: path, env: {} }));
    expect(error.message).toBe(`${path}: ${reason}`);
    expect(error.message).not.toContain('\n');
  });

  it('names the layer that gave the bad value', () => {
    const error = errorOf(() => loadConfig({ env: {}, overrides: { probe: { appEndpoints: { hosts: { 'chat.example': ['nope'] } } } } }));
    expect(error.message).toBe('command line: probe.appEndpoints.hosts["chat.example"][0] must be an IP address (got "nope")');
  });
});

describe('probe.appEndpoints: reaches the probes', () => {
  it("points the signal probe at the configured host, trusting the configured CA only there", async () => {
    const server = await rawHttpsServer(signalPki.leaf(['chat.signal.example']), (_req, socket) => respond(socket, 200, { 'content-type': 'text/plain' }, 'signal'));
    servers.push(server);
    const backends = [`https://chat.signal.example:${server.port}/`];
    const hosts = { 'chat.signal.example': ['127.0.0.1'] };
    const run = async (appEndpoints: unknown) => {
      const config = loadConfig({ file: file({ probe: { timeoutMs: 5000, resolver: '127.0.0.1:9', appEndpoints } }), env: {} });
      return signalProbe.run(probeInput('app://signal', [], config.probe), new AbortController().signal);
    };
    const trusted = await run({ signal: { backends, caPem: signalPki.ca.cert }, hosts });
    expect(trusted.failure).toBeNull();
    expect(trusted.details.backends.map((b) => [b.url, b.status_code])).toEqual([[backends[0], 200]]);
    // Without the configured CA, the bundled Signal CA is the one trusted: the stand-in's certificate is not Signal's.
    const untrusted = await run({ signal: { backends }, hosts });
    expect(untrusted.failure).toBe('ssl_unknown_authority');
  });
});
