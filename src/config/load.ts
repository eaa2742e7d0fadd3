// Loading the configuration: the defaults (schema.ts), then the JSON file
// (--config F), then the environment (RASAD_*, env.ts), then the command
// line's overrides. Each later layer wins, but each layer is checked on its
// own first (json-schema.ts, through ajv): a bad value is an error even when
// a later layer overrides it, and the error names the layer that gave it:
// `SOURCE: key.path must be ... (got ...)`. Unknown keys are errors: a typo
// must not silently leave a default in place.
import { readBoundedText, readFailure } from '../read-bounded.js';
import { isIPv4 } from 'node:net';
import { resolve } from 'node:path';
import { scrubSecrets } from '../log.js';
import { environmentLayers, type Layer } from './env.js';
import { ConfigError, describe } from './errors.js';
import { JsonSyntaxError, lineAndColumn, parseJson } from './json.js';
import { defaultConfig, type Config } from './schema.js';
import { checkLayer, checkWhole } from './validate.js';

export { ConfigError } from './errors.js';
export { JsonSyntaxError, parseJson } from './json.js';
export { isIpPort } from './validate.js';

export type DeepPartial<T> = T extends readonly (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export interface LoadConfigOptions {
  /** The JSON config file, as given on the command line (errors name it so). */
  file?: string;
  /** The directory a relative `file` is read from (default: the process's). */
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** From command-line flags; wins over everything else. */
  overrides?: DeepPartial<Config>;
  /** How errors name the overrides (default "command line"). */
  overridesSource?: string;
}

export function loadConfig(options: LoadConfigOptions): Config {
  const environment = environmentLayers(options.env);
  const before: Layer[] = [];
  if (options.file !== undefined) before.push({ source: options.file, value: readConfigFile(options.file, options.cwd) });
  before.push(...environment.layers);
  const after: Layer[] = [];
  if (options.overrides !== undefined) after.push({ source: options.overridesSource ?? 'command line', value: options.overrides });

  // Every layer is checked before any is merged: an override does not hide a bad value beneath it.
  const checked = [...before, ...after].map((layer) => {
    const value = plainCopy(layer.value, layer.source, '', 0);
    checkLayer(value, layer.source);
    return { source: layer.source, value };
  });

  const config = defaultConfig() as unknown as Record<string, unknown>;
  const origins = new Map<string, string>();
  for (const layer of checked.slice(0, before.length)) mergeLayer(config, layer.value as Record<string, unknown>, '', layer.source, origins);
  if (environment.webhookSecret !== undefined) {
    const layer = webhookSecretLayer(config, environment.webhookSecret);
    checkLayer(layer, 'RASAD_WEBHOOK_SECRET');
    mergeLayer(config, layer, '', 'RASAD_WEBHOOK_SECRET', origins);
  }
  for (const layer of checked.slice(before.length)) mergeLayer(config, layer.value as Record<string, unknown>, '', layer.source, origins);

  const sourceOf = (path: string) => originOf(path, origins);
  checkWhole(config, sourceOf);
  const valid = config as unknown as Config;
  checkDashboardToken(valid, sourceOf);
  checkRelations(valid, sourceOf);
  return valid;
}

/** A copy safe to log: the dashboard token, webhook URLs and secrets are masked, URL credentials scrubbed. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  if (copy.http.token !== undefined) copy.http.token = REDACTED;
  copy.webhooks = copy.webhooks.map((w) => ({
    ...w,
    url: maskUrl(w.url),
    ...(w.secret !== undefined ? { secret: REDACTED } : {}),
  }));
  copy.controls = copy.controls.map((c) => scrubSecrets(c));
  if (copy.probe.dohUrl !== null) copy.probe.dohUrl = scrubSecrets(copy.probe.dohUrl);
  if (copy.probe.extraCaPem !== undefined) copy.probe.extraCaPem = `[${copy.probe.extraCaPem.length} characters of PEM]`;
  const signal = copy.probe.appEndpoints?.signal;
  if (signal?.caPem !== undefined) signal.caPem = `[${signal.caPem.length} characters of PEM]`;
  return copy;
}

const REDACTED = '[redacted]';

/** Webhook URLs often carry their secret in the path (Slack, Matrix): keep the scheme and host only. */
function maskUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
const MAX_DEPTH = 64;

/**
 * A private copy of a layer as plain JSON data, so that later layers and the
 * caller never share (and mutate) one object. Keys left undefined (a flag
 * not given) are dropped; anything JSON cannot hold is an error.
 */
function plainCopy(value: unknown, source: string, path: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new ConfigError(source, path || null, `is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(source, path || null, `must be a finite number (got ${String(value)})`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => plainCopy(item, source, `${path}[${i}]`, depth + 1));
  if (isRecord(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (value[key] === undefined) continue;
      // defineProperty: a key named "__proto__" stays data (and is then refused as unknown).
      Object.defineProperty(copy, key, { value: plainCopy(value[key], source, join(path, key), depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  throw new ConfigError(source, path || null, `must be plain data (got ${describe(value)})`);
}

/** Merges a checked layer: sections key by key; lists and plain values replace what was there, whole. */
function mergeLayer(into: Record<string, unknown>, layer: Record<string, unknown>, path: string, source: string, origins: Map<string, string>): void {
  for (const key of Object.keys(layer)) {
    const value = layer[key];
    const childPath = join(path, key);
    if (isRecord(value) && isRecord(into[key])) {
      mergeLayer(into[key] as Record<string, unknown>, value, childPath, source, origins);
      continue;
    }
    into[key] = value;
    origins.set(childPath, source);
    for (const recorded of [...origins.keys()]) {
      if (recorded.startsWith(childPath + '[') || recorded.startsWith(childPath + '.')) origins.delete(recorded);
    }
  }
}

/** Where a value at `path` (or its nearest recorded parent) came from. */
function originOf(path: string, origins: Map<string, string>): string {
  let p = path;
  for (;;) {
    const found = origins.get(p);
    if (found !== undefined) return found;
    const parent = p.replace(/(\.[^.[\]]+|\[[0-9]+\]|\["(?:[^"\\]|\\.)*"\])$/, '');
    if (parent === p || parent === '') return origins.get(parent) ?? 'defaults';
    p = parent;
  }
}

/** RASAD_WEBHOOK_SECRET signs every configured webhook without a secret of its own (so it can stay out of the file). */
function webhookSecretLayer(config: Record<string, unknown>, secret: string): Record<string, unknown> {
  const hooks = config.webhooks;
  if (!Array.isArray(hooks) || hooks.length === 0) {
    throw new ConfigError('RASAD_WEBHOOK_SECRET', null, 'is set but no webhook is configured (set RASAD_WEBHOOK_URL or webhooks in the config file)');
  }
  return { webhooks: hooks.map((hook: Record<string, unknown>) => (hook.secret === undefined ? { ...hook, secret } : hook)) };
}

// ---------------------------------------------------------------------------
// Checks across keys (a JSON Schema cannot compare two values).

export function isLoopbackBind(bind: string): boolean {
  if (bind === 'localhost' || bind === '::1') return true;
  if (isIPv4(bind)) return bind.startsWith('127.');
  return /^::ffff:127\./i.test(bind);
}

function checkDashboardToken(config: Config, sourceOf: (path: string) => string): void {
  if (!config.http.enabled || config.http.token !== undefined || isLoopbackBind(config.http.bind)) return;
  throw new ConfigError(
    sourceOf('http.bind'),
    'http.bind',
    `is ${JSON.stringify(config.http.bind)}, not a loopback address, so http.token is required (else the dashboard is open to the network; set RASAD_HTTP_TOKEN)`,
  );
}

function checkRelations(config: Config, sourceOf: (path: string) => string): void {
  const notAbove = (small: string, smallValue: number, large: string, largeValue: number) => {
    if (smallValue <= largeValue) return;
    // Blame whichever of the two a layer set (the other is a default, or was set earlier).
    const source = sourceOf(small) === 'defaults' ? sourceOf(large) : sourceOf(small);
    throw new ConfigError(source, small, `must not exceed ${large} (${largeValue})`);
  };
  const probe = config.probe;
  // The kept sample is a prefix of what is read.
  notAbove('probe.bodyCapBytes', probe.bodyCapBytes, 'probe.bodyReadLimitBytes', probe.bodyReadLimitBytes);
  notAbove('probe.sessionIntervalMs', probe.sessionIntervalMs, 'probe.sessionHorizonMs', probe.sessionHorizonMs);
  for (const name of ['web', 'long'] as const) {
    const s = config.schedules[name];
    notAbove(`schedules.${name}.jitterS`, s.jitterS, `schedules.${name}.everyS`, s.everyS);
  }
}

// ---------------------------------------------------------------------------
// The file.

/** A config file is a page of JSON; its inline fingerprints and CA are the largest parts. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

function readConfigFile(file: string, cwd: string | undefined): unknown {
  let source: string;
  try {
    source = readBoundedText(cwd === undefined ? file : resolve(cwd, file), MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    throw new ConfigError(file, null, `cannot read the config file (${readFailure(err)})`);
  }
  try {
    return parseJson(source);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = lineAndColumn(source, err.offset);
    throw new ConfigError(`${file}:${line}:${column}`, null, `invalid JSON: ${err.message}`);
  }
}
