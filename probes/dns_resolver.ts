// Which UDP resolver the DNS probe asks: the configured one, or the first
// nameserver of /etc/resolv.conf, read once and again only when it changes.
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ProbeOptions } from './types.js';

export interface Server {
  ip: string;
  port: number;
}

/** Parses "ip:port", "[v6]:port" or a bare IP (port 53). Null when it is none of these. */
export function parseResolverAddress(text: string): Server | null {
  const trimmed = text.trim();
  const bracketed = trimmed.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracketed) return checked(bracketed[1]!, bracketed[2]);
  if (isIP(trimmed)) return checked(trimmed, undefined);
  const colon = trimmed.lastIndexOf(':');
  if (colon > 0) return checked(trimmed.slice(0, colon), trimmed.slice(colon + 1));
  return null;
}

function checked(ip: string, port: string | undefined): Server | null {
  if (isIP(ip) === 0) return null;
  const n = port === undefined ? 53 : Number(port);
  if (!/^\d{1,5}$/.test(port ?? '53') || n < 1 || n > 65535) return null;
  return { ip, port: n };
}

/** The first `nameserver` of a resolv.conf text, or null. */
export function firstNameserver(resolvConf: string): string | null {
  for (const line of resolvConf.split('\n')) {
    const m = line.match(/^\s*nameserver\s+(\S+)/);
    if (m) return m[1]!.replace(/%.*$/, '');
  }
  return null;
}

type UdpServerChoice = { server: Server | null; label: string; problem: string | null };

/**
 * The resolver a resolv.conf names, read once and read again only when the
 * file changes (its mtime, size or inode): a DNS probe per input must not
 * read and parse the file every time. The file is looked at (stat) at most
 * once per `recheckMs`, and callers that ask at once share that look: a
 * sweep's hundreds of probes cost one stat a second, not one each.
 */
export class ResolvConfCache {
  private cached: { stamp: string; choice: UdpServerChoice } | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<UdpServerChoice> | null = null;
  /** Times the file was read, and looked at, for tests. */
  reads = 0;
  stats = 0;

  constructor(
    readonly path: string,
    private readonly recheckMs = 1000,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  choice(): Promise<UdpServerChoice> {
    if (this.cached && this.clock() - this.checkedAt < this.recheckMs) return Promise.resolve(this.cached.choice);
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<UdpServerChoice> {
    let stamp: string;
    try {
      this.stats++;
      const st = await stat(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      this.cached = null;
      return { server: null, label: this.path, problem: `cannot read ${this.path}` };
    }
    this.checkedAt = this.clock();
    if (this.cached?.stamp === stamp) return this.cached.choice;
    let conf: string;
    try {
      this.reads++;
      conf = await readFile(this.path, 'utf8');
    } catch {
      this.cached = null;
      return { server: null, label: this.path, problem: `cannot read ${this.path}` };
    }
    const ns = firstNameserver(conf);
    const server = ns ? parseResolverAddress(ns) : null;
    const choice: UdpServerChoice = server
      ? { server, label: `${isIP(server.ip) === 6 ? `[${server.ip}]` : server.ip}:${server.port}`, problem: null }
      : { server: null, label: this.path, problem: `no usable nameserver in ${this.path}` };
    this.cached = { stamp, choice };
    return choice;
  }
}

const systemResolvConf = new ResolvConfCache('/etc/resolv.conf');

/** The UDP resolver: options.resolver, or the first nameserver of resolv.conf (cached) when none is set. */
export async function udpServerFor(options: ProbeOptions, resolvConf: ResolvConfCache = systemResolvConf): Promise<UdpServerChoice> {
  if (options.resolver.trim() !== '') {
    const server = parseResolverAddress(options.resolver);
    return { server, label: options.resolver, problem: server ? null : `bad resolver address ${JSON.stringify(options.resolver.slice(0, 100))}` };
  }
  return resolvConf.choice();
}

