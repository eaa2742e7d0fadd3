// Checking a value against the config's JSON Schema (json-schema.ts) with
// ajv, and turning ajv's first error into one ConfigError line:
// `SOURCE: key.path must be ... (got ...)`, or `SOURCE: unknown key a.b (did you mean "c"?)`.
import { X509Certificate } from 'node:crypto';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { hostnameProblem } from '../targets/host.js';
import { ConfigError, describe, describeSecret, joinPath } from './errors.js';
import { CONFIG_SCHEMA, layerSchema, type SchemaNode } from './json-schema.js';
import { suggestKey } from './suggest.js';

/** "ip:port" with an IPv4 address or a bracketed IPv6 one. */
export function isIpPort(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return false;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return false;
  return m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2]!);
}

/** "host:port": a domain name or an IP address (IPv6 bracketed), and a port 1..65535. */
function isHostPort(v: string): boolean {
  if (isIpPort(v)) return true;
  const m = /^([^:\s\[\]]+):([0-9]{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return false;
  return isDomainName(m[1]!);
}

function isDomainName(v: string): boolean {
  return v !== '' && !isIP(v) && hostnameProblem(v.toLowerCase()) === null;
}

/** One or more PEM certificates that parse (a bad one would otherwise fail every sweep's TLS setup). */
function isPemCertificates(v: string): boolean {
  const blocks = v.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}

function isHttpUrl(v: string): boolean {
  if (/\s/.test(v)) return false;
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const FORMATS: Record<string, (v: string) => boolean> = {
  text: (v) => v.trim() !== '' && !/[\u0000-\u001f]/.test(v),
  'http-url': isHttpUrl,
  'url-path': (v) => v.startsWith('/') && !/\s/.test(v),
  resolver: (v) => v === '' || isIpPort(v),
  'bind-address': (v) => v === 'localhost' || isIP(v) !== 0,
  'domain-name': isDomainName,
  'lower-domain-name': (v) => v === v.toLowerCase() && isDomainName(v),
  'https-url': (v) => isHttpUrl(v) && new URL(v).protocol === 'https:',
  'ip-port': isIpPort,
  'host-port': isHostPort,
  'ip-address': (v) => isIP(v) !== 0,
  'pem-certificates': isPemCertificates,
};

function createAjv(): Ajv {
  // verbose: each error carries the value and the schema node it failed on (for the message).
  const ajv = new Ajv({ allErrors: false, verbose: true, strict: true, allowUnionTypes: true });
  for (const keyword of ['x-must', 'x-messages', 'x-secret', 'x-whole', 'x-unit']) ajv.addKeyword({ keyword });
  for (const [name, check] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: check });
  return ajv;
}

const ajv = createAjv();
let compiled: { full: ValidateFunction; layer: ValidateFunction } | undefined;

function validators(): { full: ValidateFunction; layer: ValidateFunction } {
  compiled ??= { full: ajv.compile(CONFIG_SCHEMA), layer: ajv.compile(layerSchema()) };
  return compiled;
}

/** Throws a ConfigError naming `source` unless `value` is a valid layer (any subset of the keys). */
export function checkLayer(value: unknown, source: string): void {
  const validate = validators().layer;
  if (!validate(value)) throw toConfigError(validate.errors![0]!, source);
}

/** Throws a ConfigError unless `value` is a whole, valid configuration. `sourceOf` names who set a key. */
export function checkWhole(value: unknown, sourceOf: (path: string) => string): void {
  const validate = validators().full;
  if (!validate(value)) {
    const error = validate.errors![0]!;
    throw toConfigError(error, sourceOf(pointerToPath(error.instancePath)));
  }
}

/** "/schedules/web/concurrency" → "schedules.web.concurrency"; "/controls/1" → "controls[1]"; "/probe/appEndpoints/hosts/a.example" → 'probe.appEndpoints.hosts["a.example"]'. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    // A key that is itself a dotted name (a pinned host) is quoted, so that the path stays unambiguous.
    if (/^[0-9]+$/.test(segment)) path = `${path}[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) path = joinPath(path, segment);
    else path = `${path}[${JSON.stringify(segment)}]`;
  }
  return path;
}

function toConfigError(error: ErrorObject, source: string): ConfigError {
  const path = pointerToPath(error.instancePath);
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys((schema.properties ?? {}) as object);
    return new ConfigError(source, null, `unknown key ${joinPath(path, key)}${suggestKey(key, known)}`);
  }
  if (error.keyword === 'required') {
    return new ConfigError(source, joinPath(path, String((error.params as { missingProperty: string }).missingProperty)), 'is required');
  }
  const messages = (schema['x-messages'] ?? {}) as Record<string, string>;
  const reason = messages[error.keyword] ?? (typeof schema['x-must'] === 'string' ? schema['x-must'] : `is not valid (${error.message ?? error.keyword})`);
  const shown = schema['x-secret'] === true ? describeSecret(error.data) : describe(error.data);
  return new ConfigError(source, path === '' ? null : path, `${reason} (got ${shown})`);
}
