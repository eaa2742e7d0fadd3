// Property tests (fast-check, fixed seeds, 2,000 runs each): loadConfig
// throws nothing but ConfigError on any file, environment or override; its
// JSON parser agrees with JSON.parse; a config of good values loads, and
// loads back as itself.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, JsonSyntaxError, loadConfig, parseJson, type LoadConfigOptions } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { PROBE_KINDS } from '../../src/experiments/registry.js';

const RUNS = { seed: 20_130_614, numRuns: 2_000 } as const;
const dir = mkdtempSync(join(tmpdir(), 'rasad-config-fuzz-'));
const path = join(dir, 'fuzz.json');

/** Loads; a ConfigError with a one-line message naming its source is the only failure allowed. */
function load(options: LoadConfigOptions): Config | ConfigError {
  try {
    return loadConfig(options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).not.toMatch(/[\n\r]/);
    expect(e.message.startsWith(`${e.source}: `)).toBe(true);
    return e;
  }
}

// Config-shaped objects: real keys (and near misses) with arbitrary JSON values.
const leafValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('127.0.0.1:53', '[::1]:53', 'http://127.0.0.1:8080/', '0.0.0.0', 'auto', 'dns', 'AS0', 'ZZ', ''),
  fc.integer({ min: -2, max: 70_000 }),
);
const section = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys, 'typo'), leafValue, { maxKeys: 4 });
const configShaped = fc.record(
  {
    db: leafValue,
    targets: leafValue,
    schedules: fc.record({ web: section(['probes', 'everyS', 'jitterS', 'concurrency']), long: leafValue }, { requiredKeys: [] }),
    probe: section(['timeoutMs', 'resolver', 'dohUrl', 'innocuousSni', 'bodyCapBytes', 'bodyReadLimitBytes', 'throughputPath']),
    controls: fc.oneof(fc.array(fc.oneof(fc.webUrl(), fc.string()), { maxLength: 3 }), leafValue),
    webhooks: fc.array(section(['url', 'secret', 'maxPerMinute']), { maxLength: 2 }),
    http: section(['enabled', 'bind', 'port', 'token', 'perTargetMetrics']),
    log: section(['level', 'pretty']),
    retries: leafValue,
    probeCircumvention: leafValue,
    surprise: leafValue,
  },
  { requiredKeys: [] },
);

// Good values for a sample of keys: a config made of them must load.
const printable = fc.stringMatching(/^[\x21-\x7e]{1,24}$/);
const httpUrl = fc.webUrl({ validSchemes: ['http', 'https'] });
const validConfig = fc.record(
  {
    db: fc.stringMatching(/^[a-z0-9/._-]{0,20}[a-z]$/),
    schedules: fc.record(
      {
        web: fc
          .record(
            {
              probes: fc.uniqueArray(fc.constantFrom(...PROBE_KINDS), { minLength: 1 }),
              everyS: fc.double({ min: 10, max: 1_209_600, noNaN: true }),
              jitterS: fc.integer({ min: 0, max: 86_400 }),
              concurrency: fc.integer({ min: 1, max: 1000 }),
            },
            { requiredKeys: [] },
          )
          // The jitter may not exceed the interval (the default jitter is 300 s).
          .map((web) => (web.everyS === undefined ? { ...web, jitterS: Math.min(web.jitterS ?? 0, 3600) } : { ...web, jitterS: Math.min(web.jitterS ?? 300, Math.floor(web.everyS)) })),
      },
      { requiredKeys: [] },
    ),
    probe: fc.record(
      {
        resolver: fc.oneof(fc.constant(''), fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65_535 })).map(([ip, port]) => `${ip}:${port}`), fc.ipV6().map((ip) => `[${ip}]:53`)),
        dohUrl: fc.oneof(fc.constant(null), httpUrl),
        innocuousSni: fc.domain(),
        throughputPath: fc.webPath().map((p) => `/${p.replace(/^\/+/, '')}`),
      },
      { requiredKeys: [] },
    ),
    controls: fc.array(httpUrl, { maxLength: 3 }),
    webhooks: fc.array(fc.record({ url: httpUrl, secret: printable, maxPerMinute: fc.integer({ min: 1, max: 10_000 }) }, { requiredKeys: ['url'] }), { maxLength: 2 }),
    http: fc.record({ enabled: fc.boolean(), bind: fc.constantFrom('127.0.0.1', '::1', 'localhost', '127.1.2.3'), port: fc.integer({ min: 0, max: 65_535 }), token: printable }, { requiredKeys: [] }),
    log: fc.record({ level: fc.constantFrom('trace', 'debug', 'info', 'warn', 'error', 'fatal'), pretty: fc.constantFrom(true, false, 'auto') }, { requiredKeys: [] }),
    probeCircumvention: fc.boolean(),
    probeCc: fc.stringMatching(/^[A-Z]{2}$/),
  },
  { requiredKeys: [] },
);

describe('loadConfig', () => {
  it('loads every config made of good values, and what it returns loads back as itself', () => {
    fc.assert(
      fc.property(validConfig, (content) => {
        writeFileSync(path, JSON.stringify(content));
        const result = load({ file: path, env: {} });
        expect(result).not.toBeInstanceOf(ConfigError);
        writeFileSync(path, JSON.stringify(result));
        expect(load({ file: path, env: {} })).toEqual(result);
      }),
      RUNS,
    );
  });
});

describe('loadConfig never throws anything but a ConfigError', () => {
  it('on config-shaped files with arbitrary values', () => {
    fc.assert(
      fc.property(configShaped, (content) => {
        writeFileSync(path, JSON.stringify(content));
        load({ file: path, env: {} });
      }),
      RUNS,
    );
  });

  it('on arbitrary file contents', () => {
    const text = fc.oneof(fc.json(), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', '-', 'e', '\\', 'u', ' ', '\n', 'db', 'true'), maxLength: 40 }));
    fc.assert(
      fc.property(text, (t) => {
        writeFileSync(path, t);
        load({ file: path, env: {} });
      }),
      RUNS,
    );
  });

  it('on arbitrary environment values and overrides', () => {
    const names = ['RASAD_DB', 'RASAD_TARGETS', 'RASAD_CONTROL', 'RASAD_RESOLVER', 'RASAD_DOH_URL', 'RASAD_WEBHOOK_URL', 'RASAD_WEBHOOK_SECRET', 'RASAD_HTTP_BIND', 'RASAD_HTTP_PORT', 'RASAD_HTTP_TOKEN', 'RASAD_LOG_LEVEL', 'RASAD_PROBE_CIRCUMVENTION'];
    const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('1', '0', '8080', '127.0.0.1:53', 'http://127.0.0.1/', '0.0.0.0', 'debug', ' '));
    const env = fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 6 });
    fc.assert(
      fc.property(env, fc.option(configShaped, { nil: undefined }), (e, overrides) => {
        load({ env: e, overrides: overrides as LoadConfigOptions['overrides'] });
      }),
      RUNS,
    );
  });
});

describe('parseJson', () => {
  it('agrees with JSON.parse: the same value, or a JsonSyntaxError where it throws', () => {
    const text = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '0', '1', '-', '.', 'e', '+', '\\', 'u', 'n', ' ', '\t', '\n', 'true', 'null'), maxLength: 30 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        let expected: { value: unknown } | null;
        try {
          expected = { value: JSON.parse(t) };
        } catch {
          expected = null;
        }
        let actual: { value: unknown } | JsonSyntaxError;
        try {
          actual = { value: parseJson(t) };
        } catch (err) {
          expect(err).toBeInstanceOf(JsonSyntaxError);
          actual = err as JsonSyntaxError;
        }
        if (expected === null) {
          expect(actual).toBeInstanceOf(JsonSyntaxError);
        } else if (actual instanceof JsonSyntaxError) {
          // The one deliberate difference: a repeated key is refused, not resolved to the last.
          expect(actual.message).toMatch(/^duplicate key /);
        } else {
          expect(actual.value).toEqual(expected.value);
        }
        if (actual instanceof JsonSyntaxError) {
          expect(actual.offset).toBeGreaterThanOrEqual(0);
          expect(actual.offset).toBeLessThanOrEqual(t.length);
        }
      }),
      RUNS,
    );
  });
});
