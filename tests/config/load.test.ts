// Configuration: defaults, file < environment < flags, and one exact error
// message for each kind of bad value, naming the file or variable and the key.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { loadConfig, parseJson, redactConfig } from '../../src/config/load.js';
import { defaultConfig, OONI_TEST_HELPERS } from '../../src/config/schema.js';
import { configFiles, errorOf } from './config-files.js';

const file = configFiles('rasad');
const dir = file.dir;

describe('loadConfig: layers', () => {
  it('gives the defaults with no file, no environment and no flags', () => {
    expect(loadConfig({ env: {} })).toEqual(defaultConfig());
  });

  it('ignores environment variables it does not own, and empty ones', () => {
    expect(loadConfig({ env: { HOME: '/root', RASAD_DB: '', RASAD_UNKNOWN: 'x' } })).toEqual(defaultConfig());
  });

  it('merges the file into the defaults, then the environment, then the flags', () => {
    const path = file({
      db: '/file/rasad.db',
      targets: '/file/targets.txt',
      controls: ['http://127.0.0.1:8001/'],
      schedules: { web: { concurrency: 5 } },
      http: { port: 9000 },
      log: { level: 'debug' },
    });
    const config = loadConfig({
      file: path,
      env: { RASAD_DB: '/env/rasad.db', RASAD_CONTROL: 'http://127.0.0.1:8002/, http://127.0.0.1:8003/', RASAD_LOG_LEVEL: 'WARN' },
      overrides: { db: '/flag/rasad.db', probe: { resolver: '127.0.0.1:5353' } },
    });
    expect(config.db).toBe('/flag/rasad.db');
    expect(config.targets).toBe('/file/targets.txt');
    expect(config.controls).toEqual(['http://127.0.0.1:8002/', 'http://127.0.0.1:8003/']);
    expect(config.log.level).toBe('warn');
    expect(config.probe.resolver).toBe('127.0.0.1:5353');
    // Nested objects merge key by key: the rest stays at its default.
    expect(config.schedules.web).toEqual({ ...defaultConfig().schedules.web, concurrency: 5 });
    expect(config.http).toEqual({ ...defaultConfig().http, port: 9000 });
    expect(config.probe.timeoutMs).toBe(defaultConfig().probe.timeoutMs);
  });

  it('maps every RASAD_* variable', () => {
    const config = loadConfig({
      env: {
        RASAD_DB: 'd.db',
        RASAD_TARGETS: 't.txt',
        RASAD_CONTROL: 'https://127.0.0.1:9443/',
        RASAD_RESOLVER: '[::1]:53',
        RASAD_DOH_URL: 'https://127.0.0.1:8443/dns-query',
        RASAD_WEBHOOK_URL: 'https://127.0.0.1:9999/hook/abc',
        RASAD_WEBHOOK_SECRET: 's3cret-value',
        RASAD_HTTP_BIND: '0.0.0.0',
        RASAD_HTTP_PORT: '8080',
        RASAD_HTTP_TOKEN: 'dashboard-token',
        RASAD_LOG_LEVEL: 'error',
        RASAD_PROBE_CIRCUMVENTION: '1',
      },
    });
    expect(config).toMatchObject({
      db: 'd.db',
      targets: 't.txt',
      controls: ['https://127.0.0.1:9443/'],
      probe: { resolver: '[::1]:53', dohUrl: 'https://127.0.0.1:8443/dns-query' },
      webhooks: [{ url: 'https://127.0.0.1:9999/hook/abc', secret: 's3cret-value' }],
      http: { bind: '0.0.0.0', port: 8080, token: 'dashboard-token' },
      log: { level: 'error' },
      probeCircumvention: true,
    });
    expect(loadConfig({ env: { RASAD_PROBE_CIRCUMVENTION: '0' } }).probeCircumvention).toBe(false);
  });

  it('lets RASAD_WEBHOOK_SECRET sign the webhooks of the file, keeping a secret of their own', () => {
    const path = file({ webhooks: [{ url: 'https://127.0.0.1:1/a' }, { url: 'https://127.0.0.1:1/b', secret: 'own' }] });
    const config = loadConfig({ file: path, env: { RASAD_WEBHOOK_SECRET: 'from-env' } });
    expect(config.webhooks.map((w) => w.secret)).toEqual(['from-env', 'own']);
  });

  it('does not share objects with the caller or between calls', () => {
    const overrides = { controls: ['http://127.0.0.1:1/'] };
    const config = loadConfig({ env: {}, overrides });
    config.controls.push('http://127.0.0.1:2/');
    expect(overrides.controls).toEqual(['http://127.0.0.1:1/']);
    expect(loadConfig({ env: {} }).controls).toEqual([...OONI_TEST_HELPERS]);
  });
});

describe('the default control', () => {
  it('is OONI\'s public test helpers, tried in order, so that a volunteer gets a control with no setup', () => {
    expect(defaultConfig().controls).toEqual(['https://0.th.ooni.org/', 'https://1.th.ooni.org/', 'https://2.th.ooni.org/', 'https://3.th.ooni.org/']);
    expect(loadConfig({ env: {} }).controls).toEqual(defaultConfig().controls);
  });

  it('is turned off by controls: [], RASAD_CONTROL=none, or an empty override', () => {
    expect(loadConfig({ env: { RASAD_CONTROL: 'none' } }).controls).toEqual([]);
    expect(loadConfig({ env: { RASAD_CONTROL: 'NONE' } }).controls).toEqual([]);
    expect(loadConfig({ env: {}, overrides: { controls: [] } }).controls).toEqual([]);
    expect(loadConfig({ env: { RASAD_CONTROL: 'http://127.0.0.1:9/' } }).controls).toEqual(['http://127.0.0.1:9/']);
  });
});

describe('loadConfig: errors name the source and the key', () => {
  it.each<[string, unknown, string]>([
    ['a string for an integer', { schedules: { web: { concurrency: 'x' } } }, 'schedules.web.concurrency must be an integer from 1 to 1000 (got "x")'],
    ['a fraction for an integer', { retries: 1.5 }, 'retries must be an integer from 0 to 10 (got 1.5)'],
    // Durations and counts have bounds (tests/config/bounds.test.ts): the message gives the range.
    ['a zero duration', { probe: { timeoutMs: 0 } }, 'probe.timeoutMs must be a number of milliseconds from 100 to 600000 (0.1 s to 10 min) (got 0)'],
    ['a negative duration', { schedules: { long: { everyS: -60 } } }, 'schedules.long.everyS must be a number of seconds from 0.1 to 1209600 (0.1 s to 14 days) (got -60)'],
    ['a non-http control', { controls: ['http://127.0.0.1:1/', 'ftp://127.0.0.1/'] }, 'controls[1] must be an http:// or https:// URL (got "ftp://127.0.0.1/")'],
    ['a control that is not a list', { controls: 'http://127.0.0.1/' }, 'controls must be a list of http:// or https:// URLs (got "http://127.0.0.1/")'],
    ['a resolver without a port', { probe: { resolver: '127.0.0.1' } }, 'probe.resolver must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf (got "127.0.0.1")'],
    ['a resolver with a bad port', { probe: { resolver: '127.0.0.1:99999' } }, 'probe.resolver must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf (got "127.0.0.1:99999")'],
    ['a resolver by name', { probe: { resolver: 'dns.local:53' } }, 'probe.resolver must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf (got "dns.local:53")'],
    ['a DoH URL that is not http', { probe: { dohUrl: 'tls://127.0.0.1' } }, 'probe.dohUrl must be an http:// or https:// URL, or null (got "tls://127.0.0.1")'],
    ['an unknown probe kind', { schedules: { web: { probes: ['dns', 'dnz'] } } }, 'schedules.web.probes[1] must be one of dns, tcp, tls, http, tls_duration, throughput, protocol, telegram, whatsapp, signal, facebook_messenger, tor, openvpn, wireguard (got "dnz")'],
    ['an empty probe list', { schedules: { web: { probes: [] } } }, 'schedules.web.probes must be a non-empty list of probe kinds (dns, tcp, tls, http, tls_duration, throughput, protocol, telegram, whatsapp, signal, facebook_messenger, tor, openvpn, wireguard) (got [])'],
    ['a probe kind twice', { schedules: { long: { probes: ['throughput', 'throughput'] } } }, 'schedules.long.probes must not name a probe kind twice (got ["throughput","throughput"])'],
    ['a bad log level', { log: { level: 'loud' } }, 'log.level must be one of trace, debug, info, warn, error, fatal (got "loud")'],
    ['a bad pretty flag', { log: { pretty: 'yes' } }, 'log.pretty must be true, false or "auto" (got "yes")'],
    ['a bad bind address', { http: { bind: 'my-laptop' } }, 'http.bind must be an IP address or "localhost" (got "my-laptop")'],
    ['a port out of range', { http: { port: 70000 } }, 'http.port must be an integer from 0 to 65535 (got 70000)'],
    ['a bad ASN', { probeAsn: '12345' }, 'probeAsn must be "AS" and a number, e.g. "AS0" (got "12345")'],
    ['a lower-case country', { probeCc: 'ir' }, 'probeCc must be a two-letter country code in upper case, e.g. "ZZ" (got "ir")'],
    ['an empty database path', { db: '' }, 'db must be a non-empty string (got "")'],
    ['an IP as innocuous SNI', { probe: { innocuousSni: '127.0.0.1' } }, 'probe.innocuousSni must be a domain name (got "127.0.0.1")'],
    ['a path without a slash', { probe: { throughputPath: 'big.bin' } }, 'probe.throughputPath must be a path starting with "/" (got "big.bin")'],
    ['a string for a boolean', { probeCircumvention: 'true' }, 'probeCircumvention must be true or false (got "true")'],
    ['a webhook without url', { webhooks: [{ secret: 'abc' }] }, 'webhooks[0].url is required'],
    ['a webhook with an unknown key', { webhooks: [{ url: 'https://127.0.0.1/h', retries: 3 }] }, 'unknown key webhooks[0].retries (known keys: url, secret, maxPerMinute)'],
    ['a number for an object', { schedules: 5 }, 'schedules must be an object (got 5)'],
    ['a body cap over the read limit', { probe: { bodyCapBytes: 2048, bodyReadLimitBytes: 1024 } }, 'probe.bodyCapBytes must not exceed probe.bodyReadLimitBytes (1024)'],
  ])('%s', (_what, content, reason) => {
    const path = file(content);
    const error = errorOf(() => loadConfig({ file: path, env: {} }));
    expect(error.message).toBe(`${path}: ${reason}`);
    expect(error.source).toBe(path);
  });

  it('never echoes a secret value', () => {
    const path = file({ webhooks: [{ url: 'hooks.slack.invalid/T000/B000/XXXXSECRETXXXX' }], http: { token: 'has space' } });
    const error = errorOf(() => loadConfig({ file: path, env: {} }));
    expect(error.message).toBe(`${path}: webhooks[0].url must be an http:// or https:// URL (got a string of 44 characters)`);
    const token = errorOf(() => loadConfig({ env: { RASAD_HTTP_TOKEN: 'two words' } }));
    expect(token.message).toBe('RASAD_HTTP_TOKEN: http.token must be a non-empty string of printable characters without spaces (got a string of 9 characters)');
  });

  it('refuses unknown keys, with a suggestion for a near miss', () => {
    const typo = file({ schedules: { web: { concurency: 5 } } });
    expect(errorOf(() => loadConfig({ file: typo, env: {} })).message).toBe(`${typo}: unknown key schedules.web.concurency (did you mean "concurrency"?)`);
    const top = file({ dbPath: 'x.db' });
    expect(errorOf(() => loadConfig({ file: top, env: {} })).message).toMatch(new RegExp(`^${escape(top)}: unknown key dbPath \\(known keys: db, targets, `));
    const proto = file('{"__proto__": {"polluted": true}}');
    expect(errorOf(() => loadConfig({ file: proto, env: {} })).message).toBe(`${proto}: unknown key __proto__ (known keys: ${Object.keys(defaultConfig()).join(', ')})`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('requires a token for a dashboard bound beyond loopback', () => {
    const open = file({ http: { bind: '0.0.0.0' } });
    expect(errorOf(() => loadConfig({ file: open, env: {} })).message).toBe(
      `${open}: http.bind is "0.0.0.0", not a loopback address, so http.token is required (else the dashboard is open to the network; set RASAD_HTTP_TOKEN)`,
    );
    expect(errorOf(() => loadConfig({ env: { RASAD_HTTP_BIND: '::' } })).message).toMatch(/^RASAD_HTTP_BIND: http\.bind is "::", not a loopback address/);
    expect(loadConfig({ file: open, env: { RASAD_HTTP_TOKEN: 't0ken' } }).http.token).toBe('t0ken');
    expect(loadConfig({ file: file({ http: { bind: '0.0.0.0', enabled: false } }), env: {} }).http.enabled).toBe(false);
    for (const bind of ['127.0.0.1', '127.8.9.10', '::1', 'localhost']) expect(loadConfig({ env: { RASAD_HTTP_BIND: bind } }).http.bind).toBe(bind);
  });

  it('names the environment variable for a bad environment value', () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ RASAD_HTTP_PORT: 'abc' }, 'RASAD_HTTP_PORT: http.port must be an integer from 0 to 65535 (got "abc")'],
      [{ RASAD_HTTP_PORT: '1.5' }, 'RASAD_HTTP_PORT: http.port must be an integer from 0 to 65535 (got 1.5)'],
      [{ RASAD_CONTROL: 'http://127.0.0.1/,nonsense' }, 'RASAD_CONTROL: controls[1] must be an http:// or https:// URL (got "nonsense")'],
      [{ RASAD_RESOLVER: 'localhost' }, 'RASAD_RESOLVER: probe.resolver must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf (got "localhost")'],
      [{ RASAD_DOH_URL: 'dns.local' }, 'RASAD_DOH_URL: probe.dohUrl must be an http:// or https:// URL, or null (got "dns.local")'],
      [{ RASAD_LOG_LEVEL: 'loud' }, 'RASAD_LOG_LEVEL: log.level must be one of trace, debug, info, warn, error, fatal (got "loud")'],
      [{ RASAD_PROBE_CIRCUMVENTION: 'maybe' }, 'RASAD_PROBE_CIRCUMVENTION: must be 1 (probe circumvention tools) or 0 (got "maybe")'],
      [{ RASAD_WEBHOOK_SECRET: 'abc' }, 'RASAD_WEBHOOK_SECRET: is set but no webhook is configured (set RASAD_WEBHOOK_URL or webhooks in the config file)'],
      [{ RASAD_WEBHOOK_URL: 'javascript:alert(1)' }, 'RASAD_WEBHOOK_URL: webhooks[0].url must be an http:// or https:// URL (got a string of 19 characters)'],
    ];
    for (const [env, message] of cases) expect(errorOf(() => loadConfig({ env })).message).toBe(message);
  });

  it('names the command line for a bad override, and the file when the environment only touched another key', () => {
    expect(errorOf(() => loadConfig({ env: {}, overrides: { probe: { resolver: 'nope' } } })).message).toMatch(/^command line: probe\.resolver must be "ip:port"/);
    expect(errorOf(() => loadConfig({ env: {}, overrides: { http: { port: -1 } }, overridesSource: '--port' })).message).toBe(
      '--port: http.port must be an integer from 0 to 65535 (got -1)',
    );
    const path = file({ http: { port: 'eighty' } });
    expect(errorOf(() => loadConfig({ file: path, env: { RASAD_HTTP_BIND: '127.0.0.2' } })).message).toBe(
      `${path}: http.port must be an integer from 0 to 65535 (got "eighty")`,
    );
    // A later layer that overrides the value does not hide it: every layer is checked on its own.
    expect(errorOf(() => loadConfig({ file: path, env: { RASAD_HTTP_PORT: '8080' } })).message).toBe(
      `${path}: http.port must be an integer from 0 to 65535 (got "eighty")`,
    );
  });

  it('reads a relative file from the given directory, and names it as given', () => {
    writeFileSync(join(dir, 'relative.json'), '{"retries": 99}');
    expect(errorOf(() => loadConfig({ file: 'relative.json', cwd: dir, env: {} })).message).toBe('relative.json: retries must be an integer from 0 to 10 (got 99)');
  });

  it('reports a missing or unreadable file', () => {
    const missing = join(dir, 'missing.json');
    const error = errorOf(() => loadConfig({ file: missing, env: {} }));
    expect(error.message).toBe(`${missing}: cannot read the config file (ENOENT)`);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.name).toBe('ConfigError');
    expect(errorOf(() => loadConfig({ file: dir, env: {} })).message).toBe(`${dir}: cannot read the config file (EISDIR)`);
  });
});

describe('loadConfig: JSON syntax errors give line and column', () => {
  it.each<[string, string, string]>([
    ['a missing value', '{\n  "db": "x.db",\n  "targets": \n}\n', '4:1: invalid JSON: expected a value, found "}"'],
    ['a trailing comma', '{\n  "db": "x.db",\n}', '3:1: invalid JSON: trailing comma before "}"'],
    ['a trailing comma in a list', '{"controls": ["http://127.0.0.1/",]}', '1:35: invalid JSON: trailing comma before "]"'],
    ['a comment', '{\n  // the database\n  "db": "x.db"\n}', '2:3: invalid JSON: comments are not allowed in JSON'],
    ['single quotes', "{'db': 'x'}", '1:2: invalid JSON: expected a key in double quotes, found "\'"'],
    ['a missing comma', '{"db": "x"\n "targets": "t"}', '2:2: invalid JSON: expected "," or "}" after a value, found "\\""'],
    ['a duplicate key', '{"db": "a",\n   "db": "b"}', '2:4: invalid JSON: duplicate key "db"'],
    ['an unterminated string', '{"db": "x.db}', '1:8: invalid JSON: unterminated string'],
    ['a raw line break in a string', '{"db": "x\n.db"}', '1:10: invalid JSON: control character in a string (write \\n, \\t, ...)'],
    ['a bad escape', '{"db": "C:\\data"}', '1:11: invalid JSON: bad escape "\\\\d" in a string'],
    ['a bad number', '{"retries": 01}', '1:13: invalid JSON: bad number "01"'],
    ['text after the value', '{"db": "x"} extra', '1:13: invalid JSON: unexpected "e" after the JSON value'],
    ['an empty file', '', '1:1: invalid JSON: expected a value, found the end of the file'],
  ])('%s', (_what, text, where) => {
    const path = file(text);
    expect(errorOf(() => loadConfig({ file: path, env: {} })).message).toBe(`${path}:${where}`);
  });

  it('refuses a top level that is not an object', () => {
    const path = file('[1, 2]');
    expect(errorOf(() => loadConfig({ file: path, env: {} })).message).toBe(`${path}: the top level must be an object (got [1,2])`);
  });

  it('parses what JSON.parse parses, to the same value', () => {
    const text = '\uFEFF{"a": [1, -2.5e3, true, false, null, "\\u00e9\\n\\"x\\""], "b": {"c": {}}, "d": []}';
    expect(parseJson(text)).toEqual(JSON.parse(text.slice(1)));
  });
});

describe('redactConfig', () => {
  it('masks the token, the webhook URLs and secrets, and URL credentials, without touching the original', () => {
    const config = loadConfig({
      env: { RASAD_HTTP_TOKEN: 'dash-SECRET-1', RASAD_CONTROL: 'https://ctl:pw-SECRET-2@127.0.0.1:9443/?token=SECRET-3' },
      overrides: { webhooks: [{ url: 'https://127.0.0.1:9999/hooks/SECRET-4', secret: 'SECRET-5' }] },
    });
    const redacted = redactConfig(config);
    const json = JSON.stringify(redacted);
    expect(json).not.toMatch(/SECRET/);
    expect(redacted.http.token).toBe('[redacted]');
    expect(redacted.webhooks).toEqual([{ url: 'https://127.0.0.1:9999/[redacted]', secret: '[redacted]' }]);
    expect(redacted.controls).toEqual(['https://[redacted]@127.0.0.1:9443/?token=[redacted]']);
    expect(redacted.db).toBe(config.db);
    expect(config.http.token).toBe('dash-SECRET-1');
    expect(config.webhooks[0]!.secret).toBe('SECRET-5');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
