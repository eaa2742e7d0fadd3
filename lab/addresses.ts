// The lab's address plan. Every address here lives only inside the network
// namespaces the lab creates; the root namespace gets no lab address, route
// or veth. The links between namespaces use 10.77.0.0/16 (a probe behind NAT
// has a private address too); the sites have public-looking addresses from
// ranges that are not special-purpose (IANA), in blocks whose ASNs are
// distinct, as a probe in Iran sees the Internet. Nothing routes them out of
// the namespaces: no namespace has a default route.

export const NAMESPACES = ['client', 'censor', 'world', 'domestic', 'control'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** The private range of the lab's links (and the client, the censor's middleboxes and the control). */
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

/**
 * Foreign blocks (on world's lo), each its own ASN in the bundled IP-to-ASN
 * data: a hosting block for most sites, a CDN block (two addresses, one ASN)
 * and an unrelated block for addresses a censor points names at.
 */
export const WORLD_RANGE = '5.9.0.0/16';
export const CDN_RANGE = '23.235.32.0/23';
export const ELSEWHERE_RANGE = '185.15.56.0/22';
/** Facebook's own block (AS32934 in the bundled data): the facebook_messenger stand-ins, which its judge checks by AS. */
export const FACEBOOK_RANGE = '157.240.0.0/16';
export const WORLD_RANGES = [WORLD_RANGE, CDN_RANGE, ELSEWHERE_RANGE, FACEBOOK_RANGE] as const;
/** The domestic block (on domestic's lo). */
export const DOMESTIC_RANGE = '2.144.0.0/16';
export const DOMESTIC_RANGES = [DOMESTIC_RANGE] as const;

export const WORLD_DNS_IP = '5.9.10.53';
/** A second resolver in world: an injected answer must hit it too. */
export const WORLD_ALT_DNS_IP = '5.9.10.54';
/** An address routed through the censor where no resolver lives: only the injection answers. */
export const UNSERVED_DNS_IP = '5.9.99.53';
export const DOMESTIC_DNS_IP = '2.144.20.53';
export const ECHO_IP = '5.9.10.7';
/** A second foreign echo endpoint and a domestic one (the protocol filter's corroboration). */
export const ECHO2_IP = '5.9.10.8';
export const DOMESTIC_ECHO_IP = '2.144.20.7';
export const ECHO_IPS = [ECHO_IP, ECHO2_IP, DOMESTIC_ECHO_IP] as const;
/** A foreign address where nothing listens: every connection is refused (the kernel's RST). */
export const REFUSING_IP = '185.15.56.10';
/**
 * An ISP resolver that rewrites NXDOMAIN: a name that exists nowhere (in its zones or outside them) gets
 * REWRITTEN_NXDOMAIN_ANSWER, its "search page", instead. An ordinary habit of some ISPs, not censorship.
 */
export const REWRITING_DNS_IP = '5.9.10.55';
/** What the rewriting resolver answers for missing names: the refusing address (no "search page" listens). */
export const REWRITTEN_NXDOMAIN_ANSWER = REFUSING_IP;
/** The CDN's two faces: the address the probe's resolver gets, and the one the control's gets. */
export const CDN_PROBE_IP = '23.235.32.10';
export const CDN_CONTROL_IP = '23.235.33.10';
/** A public-looking blockpage address in the censor (OONI's "public blockpage"): port 80 answers, 443 refuses. */
export const PUBLIC_BLOCKPAGE_IP = '185.15.59.41';
export const ECHO_TCP_PORTS = [53, 80, 443] as const;

/** Where DNS-injected clients land (Iran's 10.10.34.34-36: net4people/bbs #226, IRBlock). Lives in censor. */
export const BLOCKPAGE_IP = '10.10.34.36';
/** All three injected addresses answer (port 80: the blockpage; other ports: refused). */
export const BLOCKPAGE_IPS = ['10.10.34.34', '10.10.34.35', BLOCKPAGE_IP] as const;
export const BLOCKPAGE_RANGE = '10.10.34.0/24';

/** An IPv6 address a site's AAAA record names; the client has no IPv6 at all. */
export const V6_ONLY_ADDRESS = '2a01:4f8:10:10::1';

/** An ordinary server habit (lab/services/habits.ts); plain sites have none. */
export type Habit =
  | 'cdn' | 'redirect-https' | 'h2-only' | 'redirect-loop' | 'redirect-to' | 'slow' | 'sanctions'
  | 'keepalive-3s' | 'tls-front-3s' | 'silent-on-junk' | 'v6-first' | 'filtering-news';

/**
 * A messaging app's stand-in server (lab/apps.ts, lab/services/apps.ts): a
 * Telegram data centre (plain HTTP on 80 and 443), a WhatsApp chat endpoint
 * (the plain site's 443, and 5222), a Signal service host (HTTPS with a
 * certificate from the lab's own "Signal" CA).
 */
export type AppRole = 'telegram-dc' | 'whatsapp-chat' | 'signal';

export interface Site {
  name: string;
  ip: string;
  side: 'world' | 'domestic';
  /** The page title of `/`. */
  title: string;
  habit?: Habit;
  app?: AppRole;
}

function site(name: string, ip: string, side: Site['side'], title: string, habit?: Habit): Site {
  return habit ? { name, ip, side, title, habit } : { name, ip, side, title };
}

function appSite(name: string, ip: string, title: string, app?: AppRole): Site {
  return app ? { name, ip, side: 'world', title, app } : { name, ip, side: 'world', title };
}

/** One address per site, so that blocking one IP hits no other site. */
export const SITES: readonly Site[] = [
  site('clean.world.test', '5.9.10.10', 'world', 'Clean World News'),
  site('news.world.test', '5.9.10.11', 'world', 'Foreign News Service'),
  site('video.world.test', '5.9.10.12', 'world', 'Foreign Video Sharing'),
  site('social.world.test', '5.9.10.13', 'world', 'Foreign Social Network'),
  site('chat.world.test', '5.9.10.14', 'world', 'Foreign Messenger'),
  site('vpn.world.test', '5.9.10.15', 'world', 'Circumvention Tool Downloads'),
  site('blog.world.test', '5.9.10.16', 'world', 'Persian Language Weblog'),
  site('down.world.test', '5.9.10.17', 'world', 'Sometimes Down Website'),
  site('echo.world.test', ECHO_IP, 'world', 'Echo Endpoint'),
  site('echo2.world.test', ECHO2_IP, 'world', 'Second Echo Endpoint'),
  site('www.domestic.test', '2.144.20.10', 'domestic', 'Domestic Video Clone'),
  site('shop.domestic.test', '2.144.20.11', 'domestic', 'Domestic Application Store'),
  site('echo.domestic.test', DOMESTIC_ECHO_IP, 'domestic', 'Domestic Echo Endpoint'),
  // Ordinary server habits (lab/services/habits.ts), one site each.
  site('cdn.world.test', CDN_PROBE_IP, 'world', 'Global Video Platform', 'cdn'),
  site('secure.world.test', '5.9.11.2', 'world', 'Secure Redirecting News', 'redirect-https'),
  site('h2.world.test', '5.9.11.3', 'world', 'HTTP2 Only Service', 'h2-only'),
  site('loop.world.test', '5.9.11.4', 'world', 'Endless Redirect Loop', 'redirect-loop'),
  site('go.world.test', '5.9.11.5', 'world', 'Link Shortener', 'redirect-to'),
  site('slow.world.test', '5.9.11.6', 'world', 'Slow Foreign Archive', 'slow'),
  site('sanctioned.world.test', '5.9.11.7', 'world', 'Developer Platform', 'sanctions'),
  site('keepalive.world.test', '5.9.11.8', 'world', 'Short Keepalive Server', 'keepalive-3s'),
  site('front.world.test', '5.9.11.9', 'world', 'Front End With Short Keepalive', 'tls-front-3s'),
  site('silent.world.test', '5.9.11.10', 'world', 'Server Silent On Junk', 'silent-on-junk'),
  site('dual.world.test', '5.9.11.11', 'world', 'Dual Stack Site', 'v6-first'),
  site('report.world.test', '5.9.11.12', 'world', 'Filtering Watch Report', 'filtering-news'),
  // The circumvention servers' hosts (lab/circumvention.ts): plain web on 80/443 beside Tor, OpenVPN, WireGuard.
  site('relay.world.test', '5.9.12.10', 'world', 'Tor Relay Operator'),
  site('ovpn.world.test', '5.9.12.11', 'world', 'OpenVPN Provider'),
  site('wg.world.test', '5.9.12.12', 'world', 'WireGuard Provider'),
  // The messaging apps' stand-ins (lab/apps.ts): the sites without a role serve the plain web pages.
  appSite('tg-dc1.world.test', '5.9.13.10', 'Telegram Data Centre 1', 'telegram-dc'),
  appSite('tg-dc2.world.test', '5.9.13.11', 'Telegram Data Centre 2', 'telegram-dc'),
  appSite('tg-web.world.test', '5.9.13.12', 'Telegram Web'),
  appSite('wa-e1.world.test', '5.9.13.20', 'WhatsApp Chat Endpoint 1', 'whatsapp-chat'),
  appSite('wa-e2.world.test', '5.9.13.21', 'WhatsApp Chat Endpoint 2', 'whatsapp-chat'),
  appSite('wa-v.world.test', '5.9.13.22', 'WhatsApp Registration'),
  appSite('wa-web.world.test', '5.9.13.23', 'WhatsApp Web'),
  appSite('signal-chat.world.test', '5.9.13.30', 'Signal Chat Service', 'signal'),
  appSite('signal-storage.world.test', '5.9.13.31', 'Signal Storage Service', 'signal'),
  appSite('fb-stun.world.test', '157.240.1.10', 'Messenger STUN'),
  appSite('fb-b-api.world.test', '157.240.1.11', 'Messenger API'),
  appSite('fb-edge.world.test', '157.240.1.12', 'Messenger Edge'),
];

/** Sites that serve the plain web pages (echo endpoints serve echo; habit sites are lab/services/habits.ts; Telegram's data centres and Signal's hosts lab/services/apps.ts). */
export const WEB_SITES: readonly Site[] = SITES.filter(
  (s) => !(ECHO_IPS as readonly string[]).includes(s.ip) && !s.habit && s.app !== 'telegram-dc' && s.app !== 'signal',
);
/** Sites with an ordinary server habit. */
export const HABIT_SITES: readonly Site[] = SITES.filter((s) => s.habit !== undefined);

/** A name that exists nowhere (NXDOMAIN at every resolver): only a censor answers it (ghost DNS). */
export const GHOST_NAME = 'ghost.world.test';

export function siteByName(name: string): Site | undefined {
  const wanted = name.toLowerCase().replace(/\.$/, '');
  return SITES.find((s) => s.name === wanted);
}

function ipv4Value(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return null;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

function inRange(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/') as [string, string];
  const v = ipv4Value(ip);
  const n = ipv4Value(net);
  if (v === null || n === null) return false;
  const size = 2 ** (32 - Number(len));
  return Math.floor(v / size) === Math.floor(n / size);
}

/** Every range that exists only inside the lab (links, sites, Iran's blockpage addresses). */
export const LAB_RANGES: readonly string[] = [LAB_RANGE, BLOCKPAGE_RANGE, ...WORLD_RANGES, ...DOMESTIC_RANGES];

/** The lab's own ranges: the only thing a rule or a route may point at. */
export function isLabAddress(ip: string): boolean {
  return LAB_RANGES.some((r) => inRange(ip, r));
}

/** A CIDR inside the lab's ranges. */
export function isLabCidr(cidr: string): boolean {
  const [ip, len] = cidr.split('/');
  if (ip === undefined || !isLabAddress(ip)) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return Number.isInteger(n) && n >= 16 && n <= 32 && LAB_RANGES.some((r) => inRange(ip, r) && n >= Number(r.split('/')[1]));
}
