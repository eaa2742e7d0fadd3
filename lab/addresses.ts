// The lab's address plan. Every address here lives only inside the network
// namespaces the lab creates (10.77.0.0/16, plus Iran's 10.10.34.36 on the
// censor); the root namespace gets no lab address, route or veth.

export const NAMESPACES = ['client', 'censor', 'world', 'domestic', 'control'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** The private range the lab uses, and nothing else. */
export const LAB_RANGE = '10.77.0.0/16';

/** One veth link: each end's namespace, interface name and address (/24). */
export interface Link {
  a: { ns: Namespace; dev: string; ip: string };
  b: { ns: Namespace; dev: string; ip: string };
}

export const LINKS: readonly Link[] = [
  { a: { ns: 'client', dev: 'to-censor', ip: '10.77.1.2' }, b: { ns: 'censor', dev: 'to-client', ip: '10.77.1.1' } },
  { a: { ns: 'world', dev: 'to-censor', ip: '10.77.2.2' }, b: { ns: 'censor', dev: 'to-world', ip: '10.77.2.1' } },
  { a: { ns: 'domestic', dev: 'to-censor', ip: '10.77.3.2' }, b: { ns: 'censor', dev: 'to-domestic', ip: '10.77.3.1' } },
  { a: { ns: 'control', dev: 'to-censor', ip: '10.77.4.2' }, b: { ns: 'censor', dev: 'to-control', ip: '10.77.4.1' } },
  // The control's own way to the world, which never crosses the censor.
  { a: { ns: 'control', dev: 'to-world', ip: '10.77.5.2' }, b: { ns: 'world', dev: 'to-control', ip: '10.77.5.1' } },
];

export const CLIENT_IP = '10.77.1.2';
/** The censor's client-facing address: the userspace middleboxes listen here. */
export const CENSOR_CLIENT_IP = '10.77.1.1';
export const CENSOR_CLIENT_DEV = 'to-client';
export const CONTROL_IP = '10.77.4.2';
export const CONTROL_URL = `http://${CONTROL_IP}/`;

/** Foreign sites' addresses (on world's lo) and domestic ones (on domestic's lo). */
export const WORLD_RANGE = '10.77.10.0/24';
export const DOMESTIC_RANGE = '10.77.20.0/24';

export const WORLD_DNS_IP = '10.77.10.53';
/** A second resolver in world: an injected answer must hit it too. */
export const WORLD_ALT_DNS_IP = '10.77.10.54';
/** An address routed through the censor where no resolver lives: only the injection answers. */
export const UNSERVED_DNS_IP = '10.77.99.53';
export const DOMESTIC_DNS_IP = '10.77.20.53';
export const ECHO_IP = '10.77.10.7';
export const ECHO_TCP_PORTS = [53, 80, 443] as const;

/** Where DNS-injected clients land (FACTS.md: Iran's 10.10.34.34-36). Lives in censor. */
export const BLOCKPAGE_IP = '10.10.34.36';
/** All three injected addresses answer (port 80: the blockpage; other ports: refused). */
export const BLOCKPAGE_IPS = ['10.10.34.34', '10.10.34.35', BLOCKPAGE_IP] as const;
export const BLOCKPAGE_RANGE = '10.10.34.0/24';

export interface Site {
  name: string;
  ip: string;
  side: 'world' | 'domestic';
  /** The page title of `/`. */
  title: string;
}

function site(name: string, ip: string, side: Site['side'], title: string): Site {
  return { name, ip, side, title };
}

/** One address per site, so that blocking one IP hits no other site. */
export const SITES: readonly Site[] = [
  site('clean.world.test', '10.77.10.10', 'world', 'Clean World News'),
  site('news.world.test', '10.77.10.11', 'world', 'Foreign News Service'),
  site('video.world.test', '10.77.10.12', 'world', 'Foreign Video Sharing'),
  site('social.world.test', '10.77.10.13', 'world', 'Foreign Social Network'),
  site('chat.world.test', '10.77.10.14', 'world', 'Foreign Messenger'),
  site('vpn.world.test', '10.77.10.15', 'world', 'Circumvention Tool Downloads'),
  site('blog.world.test', '10.77.10.16', 'world', 'Persian Language Weblog'),
  site('down.world.test', '10.77.10.17', 'world', 'Sometimes Down Website'),
  site('echo.world.test', ECHO_IP, 'world', 'Echo Endpoint'),
  site('www.domestic.test', '10.77.20.10', 'domestic', 'Domestic Video Clone'),
  site('shop.domestic.test', '10.77.20.11', 'domestic', 'Domestic Application Store'),
];

/** Sites that serve the web pages (the echo endpoint serves echo instead). */
export const WEB_SITES: readonly Site[] = SITES.filter((s) => s.ip !== ECHO_IP);

export function siteByName(name: string): Site | undefined {
  const wanted = name.toLowerCase().replace(/\.$/, '');
  return SITES.find((s) => s.name === wanted);
}

/** The lab's own ranges: the only thing a rule or a route may point at. */
export function isLabAddress(ip: string): boolean {
  return /^10\.77\.\d{1,3}\.\d{1,3}$/.test(ip) || /^10\.10\.34\.\d{1,3}$/.test(ip);
}

/** A CIDR inside the lab's ranges. */
export function isLabCidr(cidr: string): boolean {
  const [ip, len] = cidr.split('/');
  if (ip === undefined || !isLabAddress(ip)) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return Number.isInteger(n) && n >= 16 && n <= 32;
}
