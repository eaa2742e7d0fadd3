// The DNS probe: the input's host resolved three ways, each recorded on its
// own. The system resolver (getaddrinfo) is what a browser uses; the raw UDP
// client sees every packet that comes back, so an on-path injector's forged
// answer and the real one after it are both on the record; DoH shows what
// an encrypted path answers. Modelled on OONI's dnscheck and
// webconnectivity DNS steps (probe-cli internal/experiment).
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { isSuspiciousAnswer } from './bogons.js';
import { udpServerFor, type Server } from './dns_resolver.js';
import { DnsDecodeError, decodeMessage, encodeQuery, RR_TYPE, type DnsMessage } from './dns_codec.js';
import { FAILURE, classifyError, unknownFailure } from './failure.js';
import { failureOf, lookupSystem, parseProbeUrl, ProbeClock, readCapped, trustOptions, warmSharedTrust, withPhase } from './net.js';
import type { DnsAnswer, DnsDetails, DnsResolution, DnsResponse, Failure, Probe, ProbeInput, ProbeOptions, ProbeResult } from './types.js';

/** Responses recorded per UDP query at most; a flood beyond this is only counted. */
export const MAX_RECORDED_RESPONSES = 16;
/** Answers kept per response at most: a 64 KB response of 4000 records must not bloat the record. */
export const MAX_ANSWERS_PER_RESPONSE = 64;
/** A DoH answer larger than a DNS message can be is not read further. */
const DOH_BODY_LIMIT = 65_535;

type QueryType = 'A' | 'AAAA';

export { firstNameserver, parseResolverAddress, ResolvConfCache, udpServerFor } from './dns_resolver.js';

function failureForMessage(msg: DnsMessage, type: QueryType): Failure {
  switch (msg.rcodeName) {
    case 'NOERROR':
      break;
    case 'NXDOMAIN':
      return FAILURE.dnsNxdomain;
    case 'SERVFAIL':
      return FAILURE.dnsServfail;
    case 'REFUSED':
      return FAILURE.dnsRefused;
    default:
      return unknownFailure(`dns rcode ${msg.rcodeName}`);
  }
  if (msg.answers.some((a) => a.typeName === type && a.value !== null)) return null;
  if (msg.truncated) return unknownFailure('dns response truncated (TC) with no answer');
  return FAILURE.dnsNoAnswer;
}

function answersOf(msg: DnsMessage): DnsAnswer[] {
  const out: DnsAnswer[] = [];
  for (const a of msg.answers) {
    if (out.length >= MAX_ANSWERS_PER_RESPONSE) break;
    if ((a.type === RR_TYPE.A || a.type === RR_TYPE.AAAA || a.type === RR_TYPE.CNAME) && a.value !== null) {
      out.push({ type: a.typeName as DnsAnswer['type'], value: a.value, ttl: a.ttl });
    }
  }
  return out;
}

function addressesOf(answers: DnsAnswer[]): string[] {
  return answers.filter((a) => a.type !== 'CNAME').map((a) => a.value);
}

/** What makes two responses "the same answer": the rcode and the set of records. */
function answerKey(r: DnsResponse): string {
  const values = r.answers.map((a) => `${a.type} ${a.value.toLowerCase()}`).sort();
  return `${r.rcode}|${values.join(',')}`;
}

function summarise(responses: DnsResponse[]): Pick<DnsResolution, 'bogons' | 'injection_suspected'> {
  const addresses = responses.flatMap((r) => addressesOf(r.answers));
  const bogons = [...new Set(addresses.filter(isSuspiciousAnswer))];
  const keys = new Set(responses.map(answerKey));
  return { bogons, injection_suspected: keys.size > 1 };
}

function sameName(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

function emptyResolution(engine: DnsResolution['engine'], resolver: string, queryType: DnsResolution['query_type'], t0: number): DnsResolution {
  return { engine, resolver, query_type: queryType, t0, t: t0, failure: null, rcode: null, answers: [], responses: [], bogons: [], injection_suspected: false };
}

// ---------------------------------------------------------------------------
// System resolver

async function systemResolution(host: string, clock: ProbeClock, options: ProbeOptions, signal: AbortSignal): Promise<DnsResolution> {
  const res = emptyResolution('system', 'getaddrinfo', 'ANY', clock.seconds());
  try {
    const addrs = await lookupSystem(host, signal, options.timeoutMs);
    res.t = clock.seconds();
    res.answers = addrs.map((a) => ({ type: isIP(a) === 6 ? 'AAAA' : 'A', value: a, ttl: null }));
    res.rcode = 'NOERROR';
    res.responses = [{ t: res.t, rcode: 'NOERROR', answers: res.answers }];
    if (addrs.length === 0) res.failure = FAILURE.dnsNoAnswer;
    Object.assign(res, summarise(res.responses));
  } catch (err) {
    res.t = clock.seconds();
    res.failure = failureOf(err, signal);
  }
  return res;
}

// ---------------------------------------------------------------------------
// Raw UDP client

interface UdpQueryOptions {
  host: string;
  type: QueryType;
  server: Server;
  label: string;
  clock: ProbeClock;
  timeoutMs: number;
  listenWindowMs: number;
  signal: AbortSignal;
}

/**
 * One query over UDP. Waits up to `timeoutMs` for the first matching
 * response, then keeps listening for `listenWindowMs` and records every
 * response that arrives. The socket is connected, so the kernel drops
 * packets from any other source; the rest are matched on ID and question.
 */
export function udpResolution(q: UdpQueryOptions): Promise<DnsResolution> {
  const res = emptyResolution('udp', q.label, q.type, q.clock.seconds());
  let ignored = 0;
  let lastMalformed: string | null = null;
  let query: Buffer;
  const id = randomInt(0, 0x10000);
  try {
    query = encodeQuery(q.host, q.type, id);
  } catch (err) {
    res.failure = classifyError(err);
    return Promise.resolve(res);
  }
  return new Promise<DnsResolution>((resolve) => {
    let socket: UdpSocket | null = null;
    let firstTimer: NodeJS.Timeout | null = null;
    let windowTimer: NodeJS.Timeout | null = null;
    let done = false;

    const finish = (failure?: Failure) => {
      if (done) return;
      done = true;
      if (firstTimer) clearTimeout(firstTimer);
      if (windowTimer) clearTimeout(windowTimer);
      q.signal.removeEventListener('abort', onAbort);
      if (socket) {
        socket.removeAllListeners('message');
        socket.on('error', () => {}); // late ICMP errors after close must not crash
        try {
          socket.close();
        } catch {
          // already closed
        }
      }
      if (res.responses.length > 0) {
        const first = res.responses[0]!;
        res.rcode = first.rcode;
        res.answers = first.answers;
        Object.assign(res, summarise(res.responses));
      } else {
        res.t = q.clock.seconds();
        res.failure = failure ?? (lastMalformed ? unknownFailure(`malformed DNS response: ${lastMalformed}`) : FAILURE.timeout);
      }
      if (ignored > 0) res.ignored_responses = ignored;
      resolve(res);
    };

    const onAbort = () => finish(failureOf(q.signal.reason, q.signal));
    if (q.signal.aborted) {
      finish(failureOf(q.signal.reason, q.signal));
      return;
    }
    q.signal.addEventListener('abort', onAbort, { once: true });

    const onMessage = (packet: Buffer) => {
      let msg: DnsMessage;
      try {
        msg = decodeMessage(packet);
      } catch (err) {
        ignored++;
        lastMalformed = err instanceof DnsDecodeError ? err.message : 'undecodable';
        return;
      }
      const question = msg.questions[0];
      const matches = msg.response && msg.id === id && (question === undefined || (sameName(question.name, q.host) && question.type === RR_TYPE[q.type]));
      if (!matches || res.responses.length >= MAX_RECORDED_RESPONSES) {
        ignored++;
        return;
      }
      const response: DnsResponse = { t: q.clock.seconds(), rcode: msg.rcodeName, answers: answersOf(msg) };
      if (msg.truncated) response.truncated = true;
      res.responses.push(response);
      if (res.responses.length === 1) {
        res.t = response.t;
        res.failure = failureForMessage(msg, q.type);
        if (firstTimer) clearTimeout(firstTimer);
        windowTimer = setTimeout(() => finish(), Math.max(0, q.listenWindowMs));
      }
    };

    try {
      socket = createSocket({ type: isIP(q.server.ip) === 6 ? 'udp6' : 'udp4' });
    } catch (err) {
      finish(classifyError(err));
      return;
    }
    socket.on('error', (err) => finish(classifyError(err)));
    socket.on('message', onMessage);
    // No failure given: a timeout, or "malformed" when only undecodable packets came.
    firstTimer = setTimeout(() => finish(), Math.max(0, q.timeoutMs));
    // dgram hands a failed connect (e.g. ENETUNREACH with no route) to this callback as its argument.
    const onConnect = ((err?: Error) => {
      if (done || !socket) return;
      if (err) return finish(classifyError(err));
      res.t0 = q.clock.seconds();
      try {
        socket.send(query, (sendErr) => {
          if (sendErr) finish(classifyError(sendErr));
        });
      } catch (sendErr) {
        finish(classifyError(sendErr));
      }
    }) as () => void;
    socket.connect(q.server.port, q.server.ip, onConnect);
  });
}

// ---------------------------------------------------------------------------
// DNS over HTTPS (RFC 8484, POST)

async function dohResolution(host: string, type: QueryType, dohUrl: string, agent: Agent, clock: ProbeClock, options: ProbeOptions, signal: AbortSignal): Promise<DnsResolution> {
  const res = emptyResolution('doh', dohUrl, type, clock.seconds());
  try {
    // RFC 8484 4.1: the ID should be 0, for caching.
    const query = encodeQuery(host, type, 0);
    const msg = await withPhase(signal, options.timeoutMs, 'doh', async (phase) => {
      const response = await request(dohUrl, {
        method: 'POST',
        dispatcher: agent,
        signal: phase,
        headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' },
        body: query,
      });
      const body = await readCapped(response.body, DOH_BODY_LIMIT, DOH_BODY_LIMIT);
      if (body.truncated || body.error !== null) response.body.destroy();
      if (body.error !== null) throw body.error;
      if (response.statusCode !== 200) throw new Error(`DoH server answered HTTP ${response.statusCode}`);
      if (body.truncated) throw new DnsDecodeError('DoH answer larger than a DNS message');
      return decodeMessage(body.kept);
    });
    res.t = clock.seconds();
    const response: DnsResponse = { t: res.t, rcode: msg.rcodeName, answers: answersOf(msg) };
    res.responses = [response];
    res.rcode = msg.rcodeName;
    res.answers = response.answers;
    res.failure = failureForMessage(msg, type);
    Object.assign(res, summarise(res.responses));
  } catch (err) {
    res.t = clock.seconds();
    res.failure = err instanceof DnsDecodeError ? unknownFailure(`malformed DNS response: ${err.message}`) : failureOf(err, signal);
  }
  return res;
}

function dohAgent(options: ProbeOptions): Agent {
  return new Agent({
    // The shared secure context: a `ca` list would build a new one per connection.
    connect: { timeout: options.timeoutMs, ...trustOptions(options.extraCaPem, 'dns') },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxHeaderSize: 64 * 1024,
    connections: 1,
  });
}

// ---------------------------------------------------------------------------

async function run(input: ProbeInput, signal: AbortSignal): Promise<ProbeResult<DnsDetails>> {
  const target = parseProbeUrl(input.url);
  const clock = new ProbeClock();
  const options = input.options;
  const details: DnsDetails = { hostname: target.host, resolutions: [], addresses: [] };
  const envelope = clock.envelope<DnsDetails>('dns');
  const result = (failure: Failure) => envelope(details, failure, 'resolve');

  // An IP literal is its own answer: nothing to ask anyone.
  if (target.hostIsIp) {
    details.addresses = [target.host];
    return result(null);
  }

  const udp = await udpServerFor(options);
  const udpQueries = (['A', 'AAAA'] as const).map((type) => {
    if (!udp.server) {
      const res = emptyResolution('udp', udp.label, type, clock.seconds());
      res.failure = unknownFailure(udp.problem ?? 'no resolver');
      return Promise.resolve(res);
    }
    return udpResolution({
      host: target.host,
      type,
      server: udp.server,
      label: udp.label,
      clock,
      timeoutMs: options.timeoutMs,
      listenWindowMs: options.dnsListenWindowMs,
      signal,
    });
  });

  let agent: Agent | null = null;
  const dohQueries: Promise<DnsResolution>[] = [];
  if (options.dohUrl) {
    agent = dohAgent(options);
    for (const type of ['A', 'AAAA'] as const) dohQueries.push(dohResolution(target.host, type, options.dohUrl, agent, clock, options, signal));
  }

  try {
    const system = await systemResolution(target.host, clock, options, signal);
    details.resolutions = [system, ...(await Promise.all(udpQueries)), ...(await Promise.all(dohQueries))];
  } finally {
    if (agent) await agent.destroy().catch(() => {});
  }

  // The system resolver's addresses first: they are what a browser connects to.
  const seen = new Set<string>();
  for (const r of details.resolutions) {
    for (const resp of r.responses) {
      for (const a of addressesOf(resp.answers)) {
        if (!seen.has(a)) {
          seen.add(a);
          details.addresses.push(a);
        }
      }
    }
  }
  return result(details.addresses.length > 0 ? null : details.resolutions[0]!.failure ?? FAILURE.dnsNoAnswer);
}

export const dnsProbe: Probe<DnsDetails> = { kind: 'dns', run, warm: warmSharedTrust('dns') };

/** What the local resolvers answered for a name that exists nowhere (resolveNonexistentName). */
export interface NonexistentNameCheck {
  /** The random name asked, e.g. qxvtebmwolkzra.com. */
  name: string;
  /** Addresses the system or UDP resolver answered for it: empty when they said NXDOMAIN (or nothing). */
  addresses: string[];
  /** Each local resolution's failure (dns_nxdomain_error is the honest answer), by engine. */
  failures: Record<string, string | null>;
}

/**
 * Asks the local resolvers (the system's and the UDP client's, never DoH)
 * for a random name under .com that no one has registered (10 to 15 random
 * letters, like the names browsers ask for the same reason: nothing in it
 * says rasad to a censor watching DNS). An honest
 * resolver says NXDOMAIN. One that rewrites NXDOMAIN (an ISP's search or
 * advertising page) answers with its own addresses: then an address for a
 * name the control finds nowhere proves nothing about censorship. A censor's
 * blocklist never holds a random name. Never throws.
 */
function randomLetters(count: number): string {
  const bytes = randomBytes(count);
  let out = '';
  for (const b of bytes) out += String.fromCharCode(97 + (b % 26));
  return out;
}

export async function resolveNonexistentName(options: ProbeOptions, signal: AbortSignal): Promise<NonexistentNameCheck> {
  const name = `${randomLetters(10 + randomInt(6))}.com`;
  const url = `http://${name}/`;
  const check: NonexistentNameCheck = { name, addresses: [], failures: {} };
  try {
    const result = await run({ target: { raw: name, inputs: [url], tags: [], category: 'MISC' }, url, addresses: [], options: { ...options, dohUrl: null, dnsListenWindowMs: 0 } }, signal);
    const seen = new Set<string>();
    for (const r of result.details.resolutions) {
      check.failures[`${r.engine}${r.engine === 'udp' ? ` ${r.query_type}` : ''}`] = r.failure;
      for (const resp of r.responses) for (const ip of addressesOf(resp.answers)) seen.add(ip);
      for (const ip of addressesOf(r.answers)) seen.add(ip);
    }
    check.addresses = [...seen];
  } catch (err) {
    check.failures.check = classifyError(err);
  }
  return check;
}
