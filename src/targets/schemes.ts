// The targets file's schemes beyond the web: the messaging apps (app://NAME)
// and the circumvention endpoints (tor://, tor+dir://, obfs4://,
// openvpn+udp://, openvpn+tcp://, wireguard://). Each line becomes one input,
// normalised: scheme and host in lower case, IPv6 compressed in brackets, no
// trailing slash, the parameters in a fixed order with canonical values:
//
//   app://telegram
//   tor://128.31.0.39:9101?fingerprint=9695DFC35FFEB861329B9F1AB04C46397020CE31
//   tor+dir://128.31.0.39:9131
//   obfs4://192.0.2.3:443?cert=<70 base64 characters>&iat-mode=0
//   openvpn+udp://vpn.example.org:1194
//   openvpn+tcp://vpn.example.org:443
//   wireguard://192.0.2.4:51820?pubkey=<44 base64 characters>[&clientkey=<44 base64 characters>]
//
// The probes read these back with probes/endpoint_url.ts.
import { decodeKey32, decodeObfs4Cert, isEndpointScheme, SCHEME_PARAMETERS, splitQuery, type EndpointScheme } from '../../probes/endpoint_url.js';
import { APP_NAMES, type AppName } from '../../probes/app_endpoints.js';
import { normaliseHost, show } from './host.js';

/** The messaging apps an app:// target names (each has its own experiment and its endpoints in probes/app_endpoints.ts). */
export const APPS: readonly AppName[] = APP_NAMES;
export type { AppName };

export function isNonWebScheme(scheme: string): boolean {
  return scheme === 'app' || isEndpointScheme(scheme);
}

type Expanded = { inputs: string[] } | { error: string };

/** `written` with its scheme (lower case, without "://") already read; `rest` is what follows "://". */
export function expandNonWeb(scheme: string, rest: string): Expanded {
  if (scheme === 'app') return expandApp(rest);
  if (isEndpointScheme(scheme)) return expandEndpoint(scheme, rest);
  return { error: `unknown scheme ${show(scheme, 20)}` };
}

function expandApp(rest: string): Expanded {
  const name = (rest.endsWith('/') ? rest.slice(0, -1) : rest).toLowerCase();
  if (!(APPS as readonly string[]).includes(name)) return { error: `unknown app ${show(name, 40)} (expected ${APPS.map((a) => `app://${a}`).join(', ')})` };
  return { inputs: [`app://${name}`] };
}

const PARAM_HINT: Record<string, string> = {
  fingerprint: "the relay's identity fingerprint, 40 hex digits",
  cert: "the bridge line's cert=, 70 base64 characters",
  'iat-mode': '0, 1 or 2',
  pubkey: "the server's public key, 44 base64 characters as `wg pubkey` prints it",
  clientkey: 'a private key known to the server, 44 base64 characters as `wg genkey` prints it',
};

function expandEndpoint(scheme: EndpointScheme, rest: string): Expanded {
  const where = `${scheme}://`;
  const question = rest.indexOf('?');
  let authority = question === -1 ? rest : rest.slice(0, question);
  const query = question === -1 ? '' : rest.slice(question + 1);
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  if (authority.includes('@')) return { error: `${where} targets take no credentials` };
  if (/[/#\\]/.test(authority) || query.includes('#')) return { error: `a ${where} target is only host:port and its parameters (no path or fragment)` };
  const hostPort = splitHostPort(authority, where);
  if ('error' in hostPort) return hostPort;

  const allowed = SCHEME_PARAMETERS[scheme];
  const known = [...allowed.required, ...allowed.optional];
  const pairs = splitQuery(query);
  if (pairs === null) return { error: `bad %-escape in the parameters of the ${where} target` };
  const values = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (!known.includes(name)) {
      const expected = known.length === 0 ? 'it takes none' : `expected ${known.join(', ')}`;
      return { error: `unknown parameter ${show(name, 30)} for ${where} (${expected})` };
    }
    if (values.has(name)) return { error: `parameter ${name} given twice` };
    values.set(name, value);
  }
  for (const name of allowed.required) {
    if (!values.has(name)) return { error: `a ${where} target needs ${name}= (${PARAM_HINT[name]})` };
  }
  const normalised: string[] = [];
  for (const name of known) {
    const value = values.get(name);
    const canonical = value === undefined ? defaultValue(name) : canonicalValue(name, value);
    if (canonical === null) return { error: `bad ${name} ${show(value ?? '', 60)} (expected ${PARAM_HINT[name]})` };
    if (canonical !== undefined) normalised.push(`${name}=${canonical}`);
  }
  const query2 = normalised.length > 0 ? `?${normalised.join('&')}` : '';
  return { inputs: [`${scheme}://${hostPort.host}:${hostPort.port}${query2}`] };
}

function defaultValue(name: string): string | undefined {
  return name === 'iat-mode' ? '0' : undefined;
}

/** The canonical form of a parameter's value, or null when it is bad. */
function canonicalValue(name: string, value: string): string | null {
  switch (name) {
    case 'fingerprint': {
      const hex = value.replace(/^\$/, '');
      return /^[0-9a-fA-F]{40}$/.test(hex) ? hex.toUpperCase() : null;
    }
    case 'cert': {
      const cert = decodeObfs4Cert(value);
      return cert ? Buffer.concat([cert.nodeId, cert.publicKey]).toString('base64').replace(/=+$/, '') : null;
    }
    case 'iat-mode':
      return /^[012]$/.test(value) ? value : null;
    case 'pubkey':
    case 'clientkey': {
      const key = decodeKey32(value);
      return key ? key.toString('base64') : null;
    }
    default:
      return null;
  }
}

function splitHostPort(authority: string, where: string): { host: string; port: number } | { error: string } {
  let host: string;
  let port: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return { error: `bad IPv6 address ${show(authority)} (no closing bracket)` };
    host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { error: `unexpected ${show(after, 20)} after the IPv6 address` };
    port = after === '' ? undefined : after.slice(1);
  } else {
    if ((authority.match(/:/g) ?? []).length > 1) return { error: `IPv6 addresses go in brackets: ${where}[2001:db8::1]:443` };
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    port = colon === -1 ? undefined : authority.slice(colon + 1);
  }
  if (host === '') return { error: `the ${where} target has no host` };
  if (port === undefined) return { error: `a ${where} target needs a port (${where}host:port)` };
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return { error: `bad port ${show(port, 20)} (expected 1 to 65535)` };
  const normalised = normaliseHost(host.endsWith('.') && !host.endsWith('..') ? host.slice(0, -1) : host);
  if ('error' in normalised) return normalised;
  return { host: normalised.host, port: Number(port) };
}
