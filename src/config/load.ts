// Loading the configuration: the defaults (schema.ts), then the JSON file
// (--config F), then the environment (RASAD_*), then the command line's
// overrides. Each later layer wins. Every value remembers where it came from,
// so that a bad one is reported as `SOURCE: key.path must be ... (got ...)`.
// Unknown keys are errors: a typo must not silently leave a default in place.
import { readFileSync } from 'node:fs';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { PROBE_KINDS } from '../../probes/types.js';
import { UsageError } from '../cli/command.js';
import { scrubSecrets } from '../log.js';
import { hostnameProblem } from '../targets/host.js';
import { defaultConfig, type Config } from './schema.js';

export type DeepPartial<T> = T extends readonly (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A configuration that cannot be used. `source` is the file, the environment variable or "command line". */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    /** The key path, e.g. "schedules.web.concurrency"; null when the problem is the source as a whole. */
    readonly path: string | null,
    reason: string,
  ) {
    super(`${source}: ${path ? `${path} ` : ''}${reason}`);
  }
}

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
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const origins = new Map<string, string>();
  if (options.file !== undefined) {
    const layer = readConfigFile(options.file, options.cwd);
    mergeLayer(config, layer, CONFIG_SCHEMA, '', options.file, origins);
  }
  applyEnvironment(config, options.env, origins);
  if (options.overrides !== undefined) {
    mergeLayer(config, options.overrides, CONFIG_SCHEMA, '', options.overridesSource ?? 'command line', origins);
  }
  validate(config, CONFIG_SCHEMA, '', origins);
  const valid = config as unknown as Config;
  checkDashboardToken(valid, origins);
  checkRelations(valid, origins);
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

// ---------------------------------------------------------------------------
// The schema: what each key holds. Leaves say what a good value is in words,
// for the error message.

type Check = (value: unknown) => string | null;

type SchemaNode =
  | { kind: 'object'; fields: Record<string, SchemaNode>; optional?: readonly string[] }
  | { kind: 'array'; check: Check; item?: SchemaNode }
  | { kind: 'leaf'; check: Check; optional?: boolean; secret?: boolean };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const leaf = (check: Check, extra: { optional?: boolean; secret?: boolean } = {}): SchemaNode => ({ kind: 'leaf', check, ...extra });

const int = (min: number, max: number): Check => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : `must be an integer from ${min} to ${max}`;

const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'must be a number greater than 0');
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'must be a number from 0 up');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const text: Check = (v) => (typeof v === 'string' && v.trim() !== '' && !/[\u0000-\u001f]/.test(v) ? null : 'must be a non-empty string');
const token: Check = (v) => (typeof v === 'string' && /^[\x21-\x7e]+$/.test(v) ? null : 'must be a non-empty string of printable characters without spaces');
const oneOf = (values: readonly string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.join(', ')}`);

const httpUrl: Check = (v) => {
  const problem = 'must be an http:// or https:// URL';
  if (typeof v !== 'string' || /\s/.test(v)) return problem;
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? null : problem;
  } catch {
    return problem;
  }
};

/** "ip:port" with an IPv4 address or a bracketed IPv6 one. */
export function isIpPort(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return false;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return false;
  return m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2]!);
}

const resolver: Check = (v) =>
  v === '' || isIpPort(v) ? null : 'must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf';
const bindAddress: Check = (v) => (typeof v === 'string' && (v === 'localhost' || isIP(v) !== 0) ? null : 'must be an IP address or "localhost"');
const domainName: Check = (v) => (typeof v === 'string' && v !== '' && !isIP(v) && hostnameProblem(v.toLowerCase()) === null ? null : 'must be a domain name');
const urlPath: Check = (v) => (typeof v === 'string' && v.startsWith('/') && !/\s/.test(v) ? null : 'must be a path starting with "/"');
const asn: Check = (v) => (typeof v === 'string' && /^AS[0-9]{1,10}$/.test(v) ? null : 'must be "AS" and a number, e.g. "AS0"');
const countryCode: Check = (v) => (typeof v === 'string' && /^[A-Z]{2}$/.test(v) ? null : 'must be a two-letter country code in upper case, e.g. "ZZ"');
const pretty: Check = (v) => (typeof v === 'boolean' || v === 'auto' ? null : 'must be true, false or "auto"');
const dohUrl: Check = (v) => (v === null ? null : httpUrl(v) === null ? null : 'must be an http:// or https:// URL, or null');

const listOf = (what: string): Check => (v) => (Array.isArray(v) ? null : `must be a list of ${what}`);
const probeList: Check = (v) => {
  if (!Array.isArray(v) || v.length === 0) return `must be a non-empty list of probe kinds (${PROBE_KINDS.join(', ')})`;
  return new Set(v).size === v.length ? null : 'must not name a probe kind twice';
};

const schedule: SchemaNode = {
  kind: 'object',
  fields: {
    probes: { kind: 'array', check: probeList, item: leaf(oneOf(PROBE_KINDS)) },
    everyS: leaf(positive),
    jitterS: leaf(nonNegative),
    concurrency: leaf(int(1, 1000)),
  },
};

const webhook: SchemaNode = {
  kind: 'object',
  fields: {
    url: leaf(httpUrl, { secret: true }),
    secret: leaf(token, { optional: true, secret: true }),
    maxPerMinute: leaf(int(1, 10_000), { optional: true }),
  },
  optional: ['secret', 'maxPerMinute'],
};

const CONFIG_SCHEMA: SchemaNode & { kind: 'object' } = {
  kind: 'object',
  fields: {
    db: leaf(text),
    targets: leaf(text),
    schedules: { kind: 'object', fields: { web: schedule, long: schedule } },
    perHostConcurrency: leaf(int(1, 100)),
    measurementDeadlineMs: leaf(positive),
    probe: {
      kind: 'object',
      fields: {
        timeoutMs: leaf(positive),
        resolver: leaf(resolver),
        dohUrl: leaf(dohUrl),
        dnsListenWindowMs: leaf(nonNegative),
        extraCaPem: leaf(text, { optional: true }),
        innocuousSni: leaf(domainName),
        bodyCapBytes: leaf(int(0, 1 << 30)),
        bodyReadLimitBytes: leaf(int(1, 1 << 30)),
        userAgent: leaf(text),
        sessionHorizonMs: leaf(positive),
        sessionIntervalMs: leaf(positive),
        throughputBytes: leaf(int(1, 2 ** 40)),
        throughputMaxMs: leaf(positive),
        throughputPath: leaf(urlPath, { optional: true }),
        sessionPath: leaf(urlPath, { optional: true }),
      },
      optional: ['extraCaPem', 'throughputPath', 'sessionPath'],
    },
    controls: { kind: 'array', check: listOf('http:// or https:// URLs'), item: leaf(httpUrl) },
    retries: leaf(int(0, 10)),
    confirmSweeps: leaf(int(1, 100)),
    webhooks: { kind: 'array', check: listOf('webhooks ({"url": ..., "secret": ...})'), item: webhook },
    http: {
      kind: 'object',
      fields: {
        enabled: leaf(bool),
        bind: leaf(bindAddress),
        port: leaf(int(0, 65535)),
        token: leaf(token, { optional: true, secret: true }),
        perTargetMetrics: leaf(bool),
      },
      optional: ['token'],
    },
    probeCircumvention: leaf(bool),
    probeAsn: leaf(asn),
    probeCc: leaf(countryCode),
    retentionDays: leaf(int(1, 36_500)),
    log: {
      kind: 'object',
      fields: { level: leaf(oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])), pretty: leaf(pretty) },
    },
  },
};

// ---------------------------------------------------------------------------
// Layers.

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Where a value at `path` (or its nearest recorded parent) came from. */
function originOf(path: string, origins: Map<string, string>): string {
  let p = path;
  for (;;) {
    const found = origins.get(p);
    if (found !== undefined) return found;
    const parent = p.replace(/(\.[^.[\]]+|\[[0-9]+\])$/, '');
    if (parent === p || parent === '') return origins.get(parent) ?? 'defaults';
    p = parent;
  }
}

function mergeLayer(
  into: Record<string, unknown>,
  layer: unknown,
  node: SchemaNode & { kind: 'object' },
  path: string,
  source: string,
  origins: Map<string, string>,
): void {
  if (!isRecord(layer)) {
    throw new ConfigError(source, path || null, `${path ? 'must be' : 'the top level must be'} an object (got ${describe(layer)})`);
  }
  for (const key of Object.keys(layer)) {
    const value = layer[key];
    if (value === undefined) continue; // an override left unset
    const child = Object.prototype.hasOwnProperty.call(node.fields, key) ? node.fields[key] : undefined;
    const childPath = join(path, key);
    if (child === undefined) throw new ConfigError(source, null, `unknown key ${childPath}${suggest(key, Object.keys(node.fields))}`);
    if (child.kind === 'object') {
      if (!isRecord(value)) throw new ConfigError(source, childPath, `must be an object (got ${describe(value)})`);
      if (!isRecord(into[key])) into[key] = {};
      mergeLayer(into[key] as Record<string, unknown>, value, child, childPath, source, origins);
    } else {
      // Lists and plain values replace what an earlier layer said, whole.
      into[key] = copyValue(value, source, childPath);
      origins.set(childPath, source);
      for (const recorded of [...origins.keys()]) {
        if (recorded.startsWith(childPath + '[') || recorded.startsWith(childPath + '.')) origins.delete(recorded);
      }
    }
  }
}

/** A private copy, so that later layers and the caller never share (and mutate) one object. */
function copyValue(value: unknown, source: string, path: string): unknown {
  try {
    return structuredClone(value);
  } catch {
    throw new ConfigError(source, path, `must be plain data (got ${describe(value)})`);
  }
}

function validate(value: Record<string, unknown>, node: SchemaNode & { kind: 'object' }, path: string, origins: Map<string, string>): void {
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(node.fields, key)) {
      throw new ConfigError(originOf(path, origins), null, `unknown key ${join(path, key)}${suggest(key, Object.keys(node.fields))}`);
    }
  }
  for (const [key, child] of Object.entries(node.fields)) {
    const childPath = join(path, key);
    const v = value[key];
    if (v === undefined) {
      if (node.optional?.includes(key) || (child.kind === 'leaf' && child.optional)) continue;
      throw new ConfigError(originOf(childPath, origins), childPath, 'is required');
    }
    validateNode(v, child, childPath, origins);
  }
}

function validateNode(v: unknown, node: SchemaNode, path: string, origins: Map<string, string>): void {
  const fail = (reason: string, secret = false) => {
    throw new ConfigError(originOf(path, origins), path, `${reason} (got ${secret ? describeSecret(v) : describe(v)})`);
  };
  if (node.kind === 'object') {
    if (!isRecord(v)) fail('must be an object');
    validate(v as Record<string, unknown>, node, path, origins);
    return;
  }
  const problem = node.check(v);
  if (problem) fail(problem, node.kind === 'leaf' && node.secret);
  if (node.kind === 'array' && node.item) {
    (v as unknown[]).forEach((item, i) => validateNode(item, node.item!, `${path}[${i}]`, origins));
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  return shown.length > 60 ? shown.slice(0, 60) + '…' : shown;
}

/** Never echo a secret into an error message (it may be logged or pasted into a bug report). */
function describeSecret(v: unknown): string {
  return typeof v === 'string' ? `a string of ${v.length} characters` : describe(v);
}

/** ` (did you mean "concurrency"?)` for a near miss. */
function suggest(key: string, known: string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : ` (known keys: ${known.join(', ')})`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------------------
// The environment. An empty variable counts as unset, as shells make that easy.

function applyEnvironment(config: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: Map<string, string>): void {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const set = (name: string, layer: unknown) => mergeLayer(config, layer, CONFIG_SCHEMA, '', name, origins);
  const number = (value: string): number | string => (/^-?[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : value);

  const db = get('RASAD_DB');
  if (db !== undefined) set('RASAD_DB', { db });
  const targets = get('RASAD_TARGETS');
  if (targets !== undefined) set('RASAD_TARGETS', { targets });
  const control = get('RASAD_CONTROL');
  if (control !== undefined) set('RASAD_CONTROL', { controls: control.split(',').map((c) => c.trim()).filter((c) => c !== '') });
  const resolverValue = get('RASAD_RESOLVER');
  if (resolverValue !== undefined) set('RASAD_RESOLVER', { probe: { resolver: resolverValue } });
  const doh = get('RASAD_DOH_URL');
  if (doh !== undefined) set('RASAD_DOH_URL', { probe: { dohUrl: doh } });
  const bind = get('RASAD_HTTP_BIND');
  if (bind !== undefined) set('RASAD_HTTP_BIND', { http: { bind } });
  const port = get('RASAD_HTTP_PORT');
  if (port !== undefined) set('RASAD_HTTP_PORT', { http: { port: number(port) } });
  const httpToken = get('RASAD_HTTP_TOKEN');
  if (httpToken !== undefined) set('RASAD_HTTP_TOKEN', { http: { token: httpToken } });
  const level = get('RASAD_LOG_LEVEL');
  if (level !== undefined) set('RASAD_LOG_LEVEL', { log: { level: level.toLowerCase() } });

  const circumvention = get('RASAD_PROBE_CIRCUMVENTION');
  if (circumvention !== undefined) {
    const on = ['1', 'true', 'yes'].includes(circumvention.toLowerCase());
    const off = ['0', 'false', 'no'].includes(circumvention.toLowerCase());
    if (!on && !off) throw new ConfigError('RASAD_PROBE_CIRCUMVENTION', null, `must be 1 (probe circumvention tools) or 0 (got ${describe(circumvention)})`);
    set('RASAD_PROBE_CIRCUMVENTION', { probeCircumvention: on });
  }

  // RASAD_WEBHOOK_URL replaces the configured webhooks with one; RASAD_WEBHOOK_SECRET
  // signs it, or, alone, every configured webhook without a secret of its own
  // (so that the secret can stay out of the config file).
  const webhookUrl = get('RASAD_WEBHOOK_URL');
  const webhookSecret = get('RASAD_WEBHOOK_SECRET');
  if (webhookUrl !== undefined) set('RASAD_WEBHOOK_URL', { webhooks: [{ url: webhookUrl }] });
  if (webhookSecret !== undefined) {
    const hooks = config.webhooks;
    if (!Array.isArray(hooks) || hooks.length === 0) {
      throw new ConfigError('RASAD_WEBHOOK_SECRET', null, 'is set but no webhook is configured (set RASAD_WEBHOOK_URL or webhooks in the config file)');
    }
    hooks.forEach((hook, i) => {
      if (isRecord(hook) && hook.secret === undefined) {
        hook.secret = webhookSecret;
        origins.set(`webhooks[${i}].secret`, 'RASAD_WEBHOOK_SECRET');
      }
    });
  }
}

// ---------------------------------------------------------------------------
// Checks across keys.

export function isLoopbackBind(bind: string): boolean {
  if (bind === 'localhost' || bind === '::1') return true;
  if (isIPv4(bind)) return bind.startsWith('127.');
  return /^::ffff:127\./i.test(bind);
}

function checkDashboardToken(config: Config, origins: Map<string, string>): void {
  if (!config.http.enabled || config.http.token !== undefined || isLoopbackBind(config.http.bind)) return;
  throw new ConfigError(
    originOf('http.bind', origins),
    'http.bind',
    `is ${JSON.stringify(config.http.bind)}, not a loopback address, so http.token is required (else the dashboard is open to the network; set RASAD_HTTP_TOKEN)`,
  );
}

function checkRelations(config: Config, origins: Map<string, string>): void {
  const probe = config.probe;
  // The kept sample is a prefix of what is read.
  if (probe.bodyCapBytes > probe.bodyReadLimitBytes) {
    throw new ConfigError(originOf('probe.bodyCapBytes', origins), 'probe.bodyCapBytes', `must not exceed probe.bodyReadLimitBytes (${probe.bodyReadLimitBytes})`);
  }
}

// ---------------------------------------------------------------------------
// The file. JSON.parse gives no position in Node 20's messages, so a small
// strict parser (RFC 8259) reports line and column itself, and refuses
// duplicate keys, which JSON.parse would silently resolve to the last one.

function readConfigFile(file: string, cwd: string | undefined): unknown {
  let source: string;
  try {
    source = readFileSync(cwd === undefined ? file : resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new ConfigError(file, null, `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseJson(source);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const { line, column } = lineAndColumn(source, err.offset);
    throw new ConfigError(`${file}:${line}:${column}`, null, `invalid JSON: ${err.message}`);
  }
}

/** A JSON syntax error at `offset` (UTF-16 units from the start of the text). */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const MAX_DEPTH = 64;

export function parseJson(text: string): unknown {
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  const fail = (message: string, at = i): never => {
    throw new JsonSyntaxError(message, at);
  };
  const shown = (at: number) => (at >= text.length ? 'the end of the file' : JSON.stringify(text[at]));
  const space = () => {
    while (i < text.length) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) fail('comments are not allowed in JSON');
      else break;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    space();
    const c = text[i];
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const [word, result] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return result;
      }
    }
    if (c === "'") fail('strings take double quotes in JSON');
    return fail(`expected a value, found ${shown(i)}`);
  };
  const object = (depth: number): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    i++; // {
    space();
    if (text[i] === '}') {
      i++;
      return result;
    }
    for (;;) {
      space();
      if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before "}"' : `expected a key in double quotes, found ${shown(i)}`);
      const keyAt = i;
      const key = string();
      if (Object.prototype.hasOwnProperty.call(result, key)) fail(`duplicate key ${JSON.stringify(key)}`, keyAt);
      space();
      if (text[i] !== ':') fail(`expected ":" after the key, found ${shown(i)}`);
      i++;
      // defineProperty: a key named "__proto__" is data, not the prototype.
      Object.defineProperty(result, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
      space();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return result;
      }
      fail(`expected "," or "}" after a value, found ${shown(i)}`);
    }
  };
  const array = (depth: number): unknown[] => {
    const result: unknown[] = [];
    i++; // [
    space();
    if (text[i] === ']') {
      i++;
      return result;
    }
    for (;;) {
      space();
      if (text[i] === ']') fail('trailing comma before "]"');
      result.push(value(depth + 1));
      space();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return result;
      }
      fail(`expected "," or "]" after a value, found ${shown(i)}`);
    }
  };
  const string = (): string => {
    const start = i;
    i++; // "
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c < ' ') fail('control character in a string (write \\n, \\t, ...)');
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && Object.prototype.hasOwnProperty.call(simple, e)) {
        out += simple[e];
        i += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        fail(`bad escape ${JSON.stringify(text.slice(i, i + 2))} in a string`);
      }
    }
  };
  const number = (): number => {
    const start = i;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail(`bad number starting with ${JSON.stringify(text.slice(i, i + 2))}`);
    i += m[0].length;
    const next = text[i];
    if (next !== undefined && /[0-9A-Za-z.+-]/.test(next)) fail(`bad number ${JSON.stringify(text.slice(start, i + 1))}`, start);
    return Number(m[0]);
  };

  const result = value(0);
  space();
  if (i < text.length) fail(`unexpected ${shown(i)} after the JSON value`);
  return result;
}
