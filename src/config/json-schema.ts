// The configuration as a JSON Schema (draft 2020-12 keywords, checked by ajv
// in validate.ts). Every duration and count has a minimum and a maximum:
// Node fires a timer of 2^31 ms or more after 1 ms, so a bound is what stops
// `everyS: 3000000` from sweeping without pause. No duration may reach
// 2^31-1 ms once converted (the schedule's everyS + jitterS included, as the
// scheduler waits for their sum).
//
// Three annotations (not validation keywords) make the error messages:
//   x-must      the reason for any failure at this node ("must be ...")
//   x-messages  a reason for one keyword in particular (e.g. uniqueItems)
//   x-secret    never echo the value (tokens, webhook URLs)
import { PROBE_KINDS } from '../experiments/registry.js';
import { APP_NAMES } from '../../probes/app_endpoints.js';

export type SchemaNode = Record<string, unknown>;

/** The largest delay a Node timer honours (2^31-1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** 600000 → "10 min", for the error message and the README's table. */
export function humanDuration(ms: number): string {
  const units: [number, string][] = [[DAY, ' days'], [HOUR, ' h'], [MINUTE, ' min'], [SECOND, ' s']];
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size}${size === DAY && ms === DAY ? ' day' : unit}`;
  }
  return `${ms / SECOND} s`;
}

export function humanBytes(n: number): string {
  for (const [size, unit] of [[GIB, ' GiB'], [MIB, ' MiB'], [KIB, ' KiB']] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n} B`;
}

const integer = (minimum: number, maximum: number): SchemaNode => ({
  type: 'integer',
  minimum,
  maximum,
  'x-must': `must be an integer from ${minimum} to ${maximum}`,
});

const milliseconds = (minimum: number, maximum: number): SchemaNode => ({
  type: 'number',
  minimum,
  maximum,
  'x-unit': 'ms',
  'x-must': `must be a number of milliseconds from ${minimum} to ${maximum} (${humanDuration(minimum)} to ${humanDuration(maximum)})`,
});

const seconds = (minimum: number, maximum: number): SchemaNode => ({
  type: 'number',
  minimum,
  maximum,
  'x-unit': 's',
  'x-must': `must be a number of seconds from ${minimum} to ${maximum} (${humanDuration(minimum * SECOND)} to ${humanDuration(maximum * SECOND)})`,
});

const bytes = (minimum: number, maximum: number): SchemaNode => ({
  type: 'integer',
  minimum,
  maximum,
  'x-must': `must be a whole number of bytes from ${minimum} to ${maximum} (${humanBytes(minimum)} to ${humanBytes(maximum)})`,
});

const text: SchemaNode = { type: 'string', format: 'text', 'x-must': 'must be a non-empty string' };
const token: SchemaNode = {
  type: 'string',
  pattern: '^[\\x21-\\x7e]+$',
  'x-secret': true,
  'x-must': 'must be a non-empty string of printable characters without spaces',
};
const httpUrl: SchemaNode = { type: 'string', format: 'http-url', 'x-must': 'must be an http:// or https:// URL' };
const urlPath: SchemaNode = { type: 'string', format: 'url-path', 'x-must': 'must be a path starting with "/"' };
const bool: SchemaNode = { type: 'boolean', 'x-must': 'must be true or false' };
const oneOf = (values: readonly string[]): SchemaNode => ({ enum: [...values], 'x-must': `must be one of ${values.join(', ')}` });

/** A section of the config: every key known, unknown keys refused. Layers may give any subset. */
const section = (properties: Record<string, SchemaNode>, optional: readonly string[] = []): SchemaNode => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
  'x-must': 'must be an object',
});

// The bounds. The scheduler waits everyS + a random part of jitterS, so their
// maxima together stay under MAX_TIMER_MS (14 days + 1 day).
export const LIMITS = {
  // A short interval is for tests and benchmarks (the soak bench); a volunteer's default is an hour.
  everyS: [0.1, 14 * 24 * 3600],
  jitterS: [0, 24 * 3600],
  concurrency: [1, 1000],
  perHostConcurrency: [1, 100],
  measurementDeadlineMs: [1 * SECOND, 1 * HOUR],
  timeoutMs: [100, 10 * MINUTE],
  dnsListenWindowMs: [0, 1 * MINUTE],
  bodyCapBytes: [0, 16 * MIB],
  bodyReadLimitBytes: [1 * KIB, 64 * MIB],
  sessionHorizonMs: [1 * SECOND, 30 * MINUTE],
  sessionIntervalMs: [100, 1 * MINUTE],
  throughputBytes: [1 * KIB, 1 * GIB],
  throughputMaxMs: [1 * SECOND, 10 * MINUTE],
  retries: [0, 10],
  /** Addresses of one name the tcp, tls and http probes try (IPv4 and IPv6 interleaved). */
  maxAddresses: [1, 16],
  confirmSweeps: [1, 100],
  maxPerMinute: [1, 10_000],
  port: [0, 65535],
  retentionDays: [1, 36_500],
  controls: [0, 16],
  webhooks: [0, 16],
  /** probe.appEndpoints: how many entries each replaced list may hold (OONI's WhatsApp list has 32 endpoints). */
  appEndpoints: [1, 64],
  /** probe.appEndpoints.hosts: pinned host names, and addresses per name. */
  appHosts: [1, 256],
  appHostAddresses: [1, 16],
  /** A Facebook Messenger service's TCP port (null: measured by DNS only). */
  appPort: [1, 65535],
} as const satisfies Record<string, readonly [number, number]>;

const L = LIMITS;

const schedule = section({
  probes: {
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: oneOf(PROBE_KINDS),
    'x-must': `must be a non-empty list of probe kinds (${PROBE_KINDS.join(', ')})`,
    'x-messages': { uniqueItems: 'must not name a probe kind twice' },
  },
  everyS: seconds(...L.everyS),
  jitterS: seconds(...L.jitterS),
  concurrency: integer(...L.concurrency),
});

const webhook: SchemaNode = {
  ...section(
    {
      url: { ...httpUrl, 'x-secret': true },
      secret: token,
      maxPerMinute: integer(...L.maxPerMinute),
    },
    ['secret', 'maxPerMinute'],
  ),
  // A whole value: a layer that gives a webhook gives all of it.
  'x-whole': true,
};

const list = (items: SchemaNode, [, max]: readonly [number, number], what: string): SchemaNode => ({
  type: 'array',
  items,
  maxItems: max,
  'x-must': `must be a list of ${what}`,
  'x-messages': { maxItems: `must be a list of at most ${max} ${what.replace(/ \(.*$/, '')}` },
});

/** A list of 1..max entries: an empty replacement list would measure nothing and still say ok. */
const someOf = (items: SchemaNode, [min, max]: readonly [number, number], what: string): SchemaNode => ({
  type: 'array',
  items,
  minItems: min,
  maxItems: max,
  'x-must': `must be a list of ${min} to ${max} ${what}`,
});

const httpsUrl: SchemaNode = { type: 'string', format: 'https-url', 'x-must': 'must be an https:// URL' };

/**
 * probe.appEndpoints (ProbeOptions.appEndpoints, probes/app_endpoints.ts):
 * the messaging-app experiments' endpoint lists, each replaced whole when
 * given, and host names pinned to addresses. OONI's lists change; a
 * researcher updates them here without a release.
 */
const appEndpoints = section(
  {
    telegram: section(
      {
        datacenters: someOf({ type: 'string', format: 'ip-port', 'x-must': 'must be "ip:port", e.g. "149.154.175.50:443"' }, L.appEndpoints, 'data-centre "ip:port" endpoints'),
        web: someOf(httpUrl, L.appEndpoints, 'http:// or https:// URLs'),
      },
      ['datacenters', 'web'],
    ),
    whatsapp: section(
      {
        endpoints: someOf({ type: 'string', format: 'host-port', 'x-must': 'must be "host:port", e.g. "e1.whatsapp.net:5222"' }, L.appEndpoints, '"host:port" endpoints'),
        registration: httpUrl,
        web: httpUrl,
      },
      ['endpoints', 'registration', 'web'],
    ),
    signal: section(
      {
        backends: someOf(httpsUrl, L.appEndpoints, 'https:// URLs'),
        caPem: { type: 'string', format: 'pem-certificates', 'x-must': 'must be PEM text of one or more CA certificates (-----BEGIN CERTIFICATE----- ...)' },
      },
      ['backends', 'caPem'],
    ),
    facebook_messenger: section(
      {
        services: someOf(
          {
            ...section({
              key: { type: 'string', pattern: '^[a-z0-9_]{1,32}$', 'x-must': 'must be 1 to 32 lower-case letters, digits or "_" (OONI\'s facebook_<key>_... test keys)' },
              hostname: { type: 'string', format: 'domain-name', 'x-must': 'must be a domain name' },
              port: { type: ['integer', 'null'], minimum: L.appPort[0], maximum: L.appPort[1], 'x-must': `must be an integer from ${L.appPort[0]} to ${L.appPort[1]}, or null for a service measured by DNS only` },
            }),
            // A whole value: a layer that gives a service gives all of it.
            'x-whole': true,
          },
          L.appEndpoints,
          'services ({"key": ..., "hostname": ..., "port": ...})',
        ),
      },
      ['services'],
    ),
    hosts: {
      type: 'object',
      maxProperties: L.appHosts[1],
      propertyNames: { type: 'string', format: 'lower-domain-name', 'x-must': 'must be a host name in lower case' },
      additionalProperties: someOf({ type: 'string', format: 'ip-address', 'x-must': 'must be an IP address' }, L.appHostAddresses, 'IP addresses'),
      'x-must': 'must be an object of host name -> list of IP addresses',
      'x-messages': { maxProperties: `must pin at most ${L.appHosts[1]} host names` },
    },
  },
  [...APP_NAMES, 'hosts'],
);

export const CONFIG_SCHEMA: SchemaNode = {
  ...section({
    db: text,
    targets: text,
    schedules: section({ web: schedule, long: schedule }),
    perHostConcurrency: integer(...L.perHostConcurrency),
    measurementDeadlineMs: milliseconds(...L.measurementDeadlineMs),
    probe: section(
      {
        timeoutMs: milliseconds(...L.timeoutMs),
        resolver: {
          type: 'string',
          format: 'resolver',
          'x-must': 'must be "ip:port" (e.g. "127.0.0.1:53" or "[::1]:53"), or "" for the first nameserver of /etc/resolv.conf',
        },
        dohUrl: { type: ['string', 'null'], format: 'http-url', 'x-must': 'must be an http:// or https:// URL, or null' },
        dnsListenWindowMs: milliseconds(...L.dnsListenWindowMs),
        extraCaPem: text,
        innocuousSni: { type: 'string', format: 'domain-name', 'x-must': 'must be a domain name' },
        bodyCapBytes: bytes(...L.bodyCapBytes),
        bodyReadLimitBytes: bytes(...L.bodyReadLimitBytes),
        userAgent: text,
        sessionHorizonMs: milliseconds(...L.sessionHorizonMs),
        sessionIntervalMs: milliseconds(...L.sessionIntervalMs),
        throughputBytes: bytes(...L.throughputBytes),
        throughputMaxMs: milliseconds(...L.throughputMaxMs),
        throughputPath: urlPath,
        sessionPath: urlPath,
        maxAddresses: integer(...L.maxAddresses),
        appEndpoints,
      },
      ['extraCaPem', 'throughputPath', 'sessionPath', 'maxAddresses', 'appEndpoints'],
    ),
    controls: list(httpUrl, L.controls, 'http:// or https:// URLs'),
    retries: integer(...L.retries),
    confirmSweeps: integer(...L.confirmSweeps),
    webhooks: list(webhook, L.webhooks, 'webhooks ({"url": ..., "secret": ...})'),
    http: section(
      {
        enabled: bool,
        bind: { type: 'string', format: 'bind-address', 'x-must': 'must be an IP address or "localhost"' },
        port: integer(...L.port),
        token,
        perTargetMetrics: bool,
      },
      ['token'],
    ),
    probeCircumvention: bool,
    collector: section({
      url: { anyOf: [{ const: '' }, httpUrl], 'x-must': 'must be an http:// or https:// URL, or ""' },
      enabled: bool,
    }),
    probeAsn: { type: 'string', pattern: '^AS[0-9]{1,10}$', 'x-must': 'must be "AS" and a number, e.g. "AS0"' },
    probeCc: { type: 'string', pattern: '^[A-Z]{2}$', 'x-must': 'must be a two-letter country code in upper case, e.g. "ZZ"' },
    retentionDays: integer(...L.retentionDays),
    log: section({
      level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
      pretty: { enum: [true, false, 'auto'], 'x-must': 'must be true, false or "auto"' },
    }),
  }),
  'x-must': 'the top level must be an object',
};

/**
 * The schema one layer (the file, one environment variable, the flags) must
 * meet: the same values, but a section may give any subset of its keys (the
 * defaults give the rest). A webhook stays whole.
 */
export function layerSchema(node: SchemaNode = CONFIG_SCHEMA): SchemaNode {
  const copy: SchemaNode = { ...node };
  if (copy.type === 'object' && copy['x-whole'] !== true) delete copy.required;
  if (isSchema(copy.properties)) {
    copy.properties = Object.fromEntries(Object.entries(copy.properties).map(([k, v]) => [k, layerSchema(v as SchemaNode)]));
  }
  if (isSchema(copy.items)) copy.items = layerSchema(copy.items);
  return copy;
}

function isSchema(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface Bound {
  /** The key path, with `[]` for a list's items: "webhooks[].maxPerMinute". */
  key: string;
  min: number;
  max: number;
  /** "ms", "s" or "" (a count, bytes, a port). */
  unit: string;
}

/** Every numeric key's bounds, in schema order: for the README's table and the tests. */
export function listBounds(node: SchemaNode = CONFIG_SCHEMA, path = ''): Bound[] {
  const found: Bound[] = [];
  if (typeof node.minimum === 'number' && typeof node.maximum === 'number') {
    found.push({ key: path, min: node.minimum, max: node.maximum, unit: typeof node['x-unit'] === 'string' ? node['x-unit'] : '' });
  }
  if (isSchema(node.properties)) {
    for (const [k, v] of Object.entries(node.properties)) found.push(...listBounds(v as SchemaNode, path === '' ? k : `${path}.${k}`));
  }
  if (isSchema(node.items)) found.push(...listBounds(node.items, `${path}[]`));
  return found;
}
