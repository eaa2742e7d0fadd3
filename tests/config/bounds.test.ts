// Bounds on every duration and count (a timer of 2^31 ms or more fires after
// 1 ms in Node), and every layer checked on its own: a bad value in the file
// is an error even when the environment or a flag overrides it.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.js';
import { loadConfig } from '../../src/config/load.js';
import { CONFIG_SCHEMA, LIMITS, listBounds, MAX_TIMER_MS } from '../../src/config/json-schema.js';
import { defaultConfig } from '../../src/config/schema.js';
import { configFiles, errorOf } from './config-files.js';

const file = configFiles('bounds');

/** { "a.b": 1 } → { a: { b: 1 } } */
function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const keys = path.split('.');
    let node = out;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = value;
  }
  return out;
}

/** The numeric leaves of the defaults, as key paths. */
function numericKeys(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return [path];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => numericKeys(v, path === '' ? k : `${path}.${k}`));
}

const bounds = listBounds();
const configBounds = bounds.filter((b) => !b.key.includes('[]'));

describe('bounds', () => {
  it('cover every number in the configuration, and webhooks[].maxPerMinute', () => {
    const bounded = new Set(bounds.map((b) => b.key));
    for (const key of numericKeys(defaultConfig())) expect(bounded, key).toContain(key);
    expect(bounded).toContain('webhooks[].maxPerMinute');
  });

  it('keep every duration under 2^31-1 ms after unit conversion, the schedule wait (everyS + jitterS) included', () => {
    for (const b of bounds) {
      if (b.unit === 'ms') expect(b.max, b.key).toBeLessThanOrEqual(MAX_TIMER_MS);
      if (b.unit === 's') expect(b.max * 1000, b.key).toBeLessThanOrEqual(MAX_TIMER_MS);
    }
    expect((LIMITS.everyS[1] + LIMITS.jitterS[1]) * 1000).toBeLessThanOrEqual(MAX_TIMER_MS);
    // Every key named ...Ms or ...S carries its unit.
    for (const b of bounds) {
      if (/Ms$/.test(b.key)) expect(b.unit, b.key).toBe('ms');
      if (/[a-z]S$/.test(b.key)) expect(b.unit, b.key).toBe('s');
    }
  });

  it('hold the defaults', () => {
    for (const b of configBounds) {
      const value = b.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], defaultConfig()) as number;
      expect(value, b.key).toBeGreaterThanOrEqual(b.min);
      expect(value, b.key).toBeLessThanOrEqual(b.max);
    }
  });

  it('admit every key at its minimum at once, and at its maximum at once', () => {
    for (const pick of ['min', 'max'] as const) {
      const flat = Object.fromEntries(configBounds.map((b) => [b.key, b[pick]]));
      const config = loadConfig({ file: file(nest(flat)), env: {} }) as unknown as Record<string, unknown>;
      for (const b of configBounds) {
        expect(b.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config), b.key).toBe(b[pick]);
      }
    }
    const hook = { url: 'https://127.0.0.1:1/h', maxPerMinute: LIMITS.maxPerMinute[1] };
    expect(loadConfig({ file: file({ webhooks: [hook] }), env: {} }).webhooks).toEqual([hook]);
  });

  it('refuse a value just outside either end, naming the key and the range', () => {
    for (const b of configBounds) {
      for (const value of [b.max + 1, b.min - 1]) {
        const path = file(nest({ [b.key]: value }));
        const error = errorOf(() => loadConfig({ file: path, env: {} }));
        expect(error.message, b.key).toMatch(new RegExp(`^${escape(path)}: ${escape(b.key)} must be an? .*from ${b.min} to ${b.max}.* \\(got ${value}\\)$`));
        expect(error.path).toBe(b.key);
      }
    }
  });

  it.each<[string, unknown, string]>([
    ['an interval that would fire at once (issue 16)', { schedules: { web: { everyS: 3_000_000 } } }, 'schedules.web.everyS must be a number of seconds from 0.1 to 1209600 (0.1 s to 14 days) (got 3000000)'],
    ['an interval under 100 ms', { schedules: { web: { everyS: 0.05 } } }, 'schedules.web.everyS must be a number of seconds from 0.1 to 1209600 (0.1 s to 14 days) (got 0.05)'],
    ['a huge timeout', { probe: { timeoutMs: 1e12 } }, 'probe.timeoutMs must be a number of milliseconds from 100 to 600000 (0.1 s to 10 min) (got 1000000000000)'],
    ['a deadline past 2^32', { measurementDeadlineMs: 4_294_967_296 }, 'measurementDeadlineMs must be a number of milliseconds from 1000 to 3600000 (1 s to 1 h) (got 4294967296)'],
    ['a session horizon over 30 min', { probe: { sessionHorizonMs: 3_600_000 } }, 'probe.sessionHorizonMs must be a number of milliseconds from 1000 to 1800000 (1 s to 30 min) (got 3600000)'],
    ['a body cap of a gigabyte', { probe: { bodyCapBytes: 2 ** 30 } }, 'probe.bodyCapBytes must be a whole number of bytes from 0 to 16777216 (0 B to 16 MiB) (got 1073741824)'],
    ['concurrency zero', { schedules: { long: { concurrency: 0 } } }, 'schedules.long.concurrency must be an integer from 1 to 1000 (got 0)'],
    ['too many retries', { retries: 11 }, 'retries must be an integer from 0 to 10 (got 11)'],
    ['a jitter longer than the interval', { schedules: { web: { everyS: 60 } } }, 'schedules.web.jitterS must not exceed schedules.web.everyS (60)'],
    ['a session interval longer than the horizon', { probe: { sessionHorizonMs: 2000, sessionIntervalMs: 5000 } }, 'probe.sessionIntervalMs must not exceed probe.sessionHorizonMs (2000)'],
    ['too many controls', { controls: Array.from({ length: 17 }, (_, i) => `http://127.0.0.${i + 1}/`) }, 'controls must be a list of at most 16 http:// or https:// URLs (got ["http://127.0.0.1/","http://127.0.0.2/","http://127.0.0.3/"…)'],
  ])('%s', (_what, content, reason) => {
    const path = file(content);
    const error = errorOf(() => loadConfig({ file: path, env: {} }));
    expect(error.message).toBe(`${path}: ${reason}`);
    expect(error).toBeInstanceOf(UsageError); // the CLI prints the line and exits 2
    expect(error.name).toBe('ConfigError');
  });

  it('is a JSON Schema that the defaults meet', () => {
    expect(CONFIG_SCHEMA.type).toBe('object');
    expect(loadConfig({ file: file(defaultConfig()), env: {} })).toEqual(defaultConfig());
  });
});

describe('every layer is checked on its own', () => {
  it('reports a bad file value that the environment or a flag overrides', () => {
    const badDb = file({ db: '' });
    expect(errorOf(() => loadConfig({ file: badDb, env: {}, overrides: { db: '/flag.db' } })).message).toBe(`${badDb}: db must be a non-empty string (got "")`);
    expect(errorOf(() => loadConfig({ file: badDb, env: { RASAD_DB: '/env.db' } })).message).toBe(`${badDb}: db must be a non-empty string (got "")`);
    const badResolver = file({ probe: { resolver: 'dns.local' } });
    expect(errorOf(() => loadConfig({ file: badResolver, env: { RASAD_RESOLVER: '127.0.0.1:53' } })).message).toMatch(
      new RegExp(`^${escape(badResolver)}: probe\\.resolver must be "ip:port"`),
    );
    expect(errorOf(() => loadConfig({ file: badResolver, env: {}, overrides: { probe: { resolver: '127.0.0.1:53' } } })).message).toMatch(/probe\.resolver must be "ip:port"/);
  });

  it('reports a bad environment value that a flag overrides', () => {
    expect(errorOf(() => loadConfig({ env: { RASAD_HTTP_PORT: 'eighty' }, overrides: { http: { port: 8080 } } })).message).toBe(
      'RASAD_HTTP_PORT: http.port must be an integer from 0 to 65535 (got "eighty")',
    );
  });

  it('reports the earliest bad layer first: the file, then the environment, then the flags', () => {
    const bad = file({ retries: 99 });
    expect(errorOf(() => loadConfig({ file: bad, env: { RASAD_LOG_LEVEL: 'loud' }, overrides: { db: '' } })).source).toBe(bad);
    expect(errorOf(() => loadConfig({ env: { RASAD_LOG_LEVEL: 'loud' }, overrides: { db: '' } })).source).toBe('RASAD_LOG_LEVEL');
    expect(errorOf(() => loadConfig({ env: {}, overrides: { db: '' } })).source).toBe('command line');
  });

  it('still lets good layers override each other in order', () => {
    const good = file({ db: '/file.db', probe: { resolver: '127.0.0.1:53' } });
    const config = loadConfig({ file: good, env: { RASAD_DB: '/env.db' }, overrides: { probe: { resolver: '[::1]:53' } } });
    expect([config.db, config.probe.resolver]).toEqual(['/env.db', '[::1]:53']);
  });

  it('refuses values JSON cannot hold in an override', () => {
    expect(errorOf(() => loadConfig({ env: {}, overrides: { retries: Number.NaN } })).message).toBe('command line: retries must be a finite number (got NaN)');
    expect(errorOf(() => loadConfig({ env: {}, overrides: { db: new Date(0) as never } })).message).toMatch(/^command line: db must be plain data/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
