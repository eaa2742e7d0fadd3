// The endpoints the messaging-app probes measure, as OONI's experiments list
// them (ooni/probe-cli internal/experiment/{telegram,whatsapp,signal,
// fbmessenger}; the dates are in each experiment's README). A test or a lab
// points a probe elsewhere through ProbeOptions.appEndpoints: every list
// below can be replaced, and host names can be pinned to addresses so that
// nothing is resolved.
import { SIGNAL_CA_PEM } from './app_signal_ca.js';

export type AppName = 'telegram' | 'whatsapp' | 'signal' | 'facebook_messenger';


/** The input of an app experiment: `app://telegram`, ... */
export function appInput(app: AppName): string {
  return `app://${app}`;
}

export interface TelegramEndpoints {
  /** Data-centre endpoints, "ip:port": each gets a TCP connect and a plain-HTTP POST, on 80 and on 443 alike. */
  datacenters: string[];
  /** Telegram's web client, fetched as a browser would. */
  web: string[];
}

export interface WhatsappEndpoints {
  /** The app's chat endpoints, "host:port": TCP connect only. */
  endpoints: string[];
  /** The registration service, fetched over HTTPS. */
  registration: string;
  /** WhatsApp's web client. */
  web: string;
}

export interface SignalEndpoints {
  /** Signal's service front ends, fetched over HTTPS. */
  backends: string[];
  /** The CA certificates (PEM) Signal's servers chain to, trusted beside the usual roots. */
  caPem: string;
}

export interface FacebookService {
  /** OONI's name for it in the test keys: facebook_<key>_dns_consistent, facebook_<key>_reachable. */
  key: string;
  hostname: string;
  /** The TCP port connected to, or null for a service measured by DNS only (STUN). */
  port: number | null;
}

export interface FacebookMessengerEndpoints {
  services: FacebookService[];
}

/** The slice of ProbeOptions the endpoint lists read (named here, so that this module need not import types.ts, which imports it). */
export interface AppEndpointOptions {
  appEndpoints?: AppEndpointOverrides;
}

/** ProbeOptions.appEndpoints: replacements for the lists above, per app, and pinned host names. */
export interface AppEndpointOverrides {
  telegram?: Partial<TelegramEndpoints>;
  whatsapp?: Partial<WhatsappEndpoints>;
  signal?: Partial<SignalEndpoints>;
  facebook_messenger?: Partial<FacebookMessengerEndpoints>;
  /**
   * Host names answered from this table instead of the system resolver
   * (telegram, whatsapp and signal). facebook_messenger always asks the UDP
   * resolver, since its DNS answers are what it measures.
   */
  hosts?: Record<string, string[]>;
}

// OONI's DatacenterIPAddrs: each is measured on port 80 and on port 443, both with plain HTTP.
export const TELEGRAM_DATACENTERS: readonly string[] = [
  '149.154.175.50',
  '149.154.167.51',
  '149.154.175.100',
  '149.154.167.91',
  '149.154.171.5',
  '95.161.76.100',
];

export const TELEGRAM: TelegramEndpoints = {
  datacenters: TELEGRAM_DATACENTERS.flatMap((ip) => [`${ip}:80`, `${ip}:443`]),
  web: ['http://web.telegram.org/', 'https://web.telegram.org/'],
};

export const WHATSAPP: WhatsappEndpoints = {
  endpoints: Array.from({ length: 16 }, (_, i) => [`e${i + 1}.whatsapp.net:443`, `e${i + 1}.whatsapp.net:5222`]).flat(),
  registration: 'https://v.whatsapp.net/v2/register',
  web: 'https://web.whatsapp.com/',
};

export const SIGNAL: SignalEndpoints = {
  backends: ['https://chat.signal.org/', 'https://cdsi.signal.org/', 'https://storage.signal.org/', 'https://sfu.voip.signal.org/'],
  caPem: SIGNAL_CA_PEM,
};

export const FACEBOOK_MESSENGER: FacebookMessengerEndpoints = {
  services: [
    { key: 'stun', hostname: 'stun.fbsbx.com', port: null },
    { key: 'b_api', hostname: 'b-api.facebook.com', port: 443 },
    { key: 'b_graph', hostname: 'b-graph.facebook.com', port: 443 },
    { key: 'edge', hostname: 'edge-mqtt.facebook.com', port: 443 },
    { key: 'external_cdn', hostname: 'external.xx.fbcdn.net', port: 443 },
    { key: 'scontent_cdn', hostname: 'scontent.xx.fbcdn.net', port: 443 },
    { key: 'star', hostname: 'star.c10r.facebook.com', port: 443 },
  ],
};

/** Facebook's own AS: an answer for one of its hosts from any other AS is not Facebook's. */
export const FACEBOOK_ASN = 32934;

interface EndpointsByApp {
  telegram: TelegramEndpoints;
  whatsapp: WhatsappEndpoints;
  signal: SignalEndpoints;
  facebook_messenger: FacebookMessengerEndpoints;
}

const DEFAULTS: EndpointsByApp = { telegram: TELEGRAM, whatsapp: WHATSAPP, signal: SIGNAL, facebook_messenger: FACEBOOK_MESSENGER };

/** The apps there are endpoints for: each has its experiment (src/experiments/registry.ts) and an app:// input. */
export const APP_NAMES: readonly AppName[] = Object.freeze(Object.keys(DEFAULTS) as AppName[]);

/** The endpoints of `app` for these options: the defaults, with any override in their place. */
export function endpointsOf<K extends AppName>(app: K, options: AppEndpointOptions): EndpointsByApp[K] {
  const override = (options.appEndpoints?.[app] ?? {}) as Partial<EndpointsByApp[K]>;
  return { ...DEFAULTS[app], ...override };
}

/** The addresses a host is pinned to by options.appEndpoints.hosts, or null when it is not pinned. */
export function pinnedAddresses(host: string, options: AppEndpointOptions): string[] | null {
  const pinned = options.appEndpoints?.hosts?.[host.toLowerCase()];
  return Array.isArray(pinned) ? pinned : null;
}

/** Splits "host:port" or "[v6]:port". Throws on anything else: a bad override is a programming error. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const m = endpoint.match(/^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`not a host:port endpoint: ${JSON.stringify(endpoint)}`);
  return { host: (m[1] ?? m[2]!).toLowerCase(), port };
}
