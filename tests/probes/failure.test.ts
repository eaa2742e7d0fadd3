// classifyError against REAL errors: each one is provoked on loopback (or
// in a throwaway network namespace) and the error Node/undici/OpenSSL
// raised is classified. Hand-made error objects appear only where noted.
import { Resolver } from 'node:dns/promises';
import { get as httpGet } from 'node:http';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlineError, abortFailure, classifyCertificateCode, classifyError, scrubIps, unknownFailure } from '../../probes/failure.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { answer, udpDnsServer, type TestDnsServer } from '../helpers/loopback/dns.js';
import { TestNetns } from '../helpers/loopback/netns.js';
import { closeOnFirstData, garbageServer, hangServer, refusedPort, resetOnAccept, resetOnFirstData, tcpServer } from '../helpers/loopback/tcp.js';
import { selfSignedLeaf } from '../helpers/loopback/selfsigned.js';
import { tlsServer } from '../helpers/loopback/tls.js';

/** Connects and returns the first error the socket raises (or null if it connected and closed cleanly). */
function socketError(connect: () => Socket, onConnect?: (s: Socket) => void): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const socket = connect();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no error within 10 s'));
    }, 10_000);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without an error'));
    });
    if (onConnect) socket.once('connect', () => onConnect(socket));
  });
}

function tlsError(port: number, options: ConnectionOptions): Promise<NodeJS.ErrnoException> {
  return socketError(() => tlsConnect({ host: '127.0.0.1', port, ...options }));
}

const servers: { close(): Promise<void> }[] = [];
async function keep<T extends { close(): Promise<void> }>(s: Promise<T>): Promise<T> {
  const server = await s;
  servers.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('scrubIps', () => {
  it('scrubs IPv4 with and without a port', () => {
    expect(scrubIps('connect ECONNREFUSED 127.0.0.1:443')).toBe('connect ECONNREFUSED [scrubbed]:443');
    expect(scrubIps('from 10.10.34.36 and 8.8.8.8.')).toBe('from [scrubbed] and [scrubbed].');
  });

  it('scrubs IPv6, including the forms Node prints with a port and no brackets', () => {
    expect(scrubIps('connect ECONNREFUSED ::1:443')).not.toContain('::1');
    expect(scrubIps('at [2001:db8::5]:80')).toBe('at [[scrubbed]]:80');
    expect(scrubIps('x 2001:db8:1:2:3:4:5:6:443 y')).toBe('x [scrubbed]:443 y');
    expect(scrubIps('mapped ::ffff:192.0.2.7 here')).toBe('mapped [scrubbed] here');
    expect(scrubIps('iran d0::11')).toBe('iran [scrubbed]');
  });

  it('leaves what is not an address alone', () => {
    expect(scrubIps('at 18:58:00 version 1.2.3 code error:0A00010B:SSL 999.1.1.1')).toBe('at 18:58:00 version 1.2.3 code error:0A00010B:SSL 999.1.1.1');
  });

  it('a real unknown error keeps its message with the address scrubbed', async () => {
    // Listening on an address this machine does not have: EADDRNOTAVAIL, no packet sent.
    const err = await new Promise<Error>((resolve) => {
      const server = createServer();
      server.once('error', resolve);
      server.listen(0, '192.0.2.1');
    });
    const failure = classifyError(err);
    expect(failure.startsWith('unknown_failure: ')).toBe(true);
    expect(failure).toContain('EADDRNOTAVAIL');
    expect(failure).toContain('[scrubbed]');
    expect(failure).not.toContain('192.0.2.1');
  });

  it('never throws on odd values', () => {
    expect(classifyError(undefined)).toBe('unknown_failure: undefined');
    expect(classifyError(Object.create(null))).toMatch(/^unknown_failure: /);
    expect(unknownFailure('a\nb   c 10.0.0.1')).toBe('unknown_failure: a b c [scrubbed]');
  });
});

describe('TCP failures on loopback', () => {
  it('connection_refused: nothing listens', async () => {
    const port = await refusedPort();
    const err = await socketError(() => netConnect(port, '127.0.0.1'));
    expect(err.code).toBe('ECONNREFUSED');
    expect(classifyError(err)).toBe('connection_refused');
  });

  it('connection_reset: RST right after accept', async () => {
    const server = await keep(resetOnAccept());
    const err = await socketError(() => netConnect(server.port, '127.0.0.1'));
    expect(err.code).toBe('ECONNRESET');
    expect(err.syscall).toBeDefined(); // "read" or "connect", depending on when the RST lands
    expect(classifyError(err)).toBe('connection_reset');
  });

  it('connection_reset: RST after the ClientHello', async () => {
    const server = await keep(resetOnFirstData());
    const err = await tlsError(server.port, { servername: 'blocked.test' });
    expect(err.code).toBe('ECONNRESET');
    expect(classifyError(err)).toBe('connection_reset');
  });

  it('connection_reset: EPIPE when writing to a peer that is gone', async () => {
    const server = await keep(tcpServer((s) => s.destroy()));
    const err = await socketError(
      () => netConnect(server.port, '127.0.0.1').pause(),
      (socket) => {
        const timer = setInterval(() => {
          if (socket.destroyed) clearInterval(timer);
          else socket.write(Buffer.alloc(64 * 1024));
        }, 20);
      },
    );
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    expect(err.syscall).toBe('write');
    expect(classifyError(err)).toBe('connection_reset');
  });

  it('eof_error: node:http "socket hang up" when the server closes after the request', async () => {
    const server = await keep(closeOnFirstData());
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      httpGet({ host: '127.0.0.1', port: server.port, path: '/' }).once('error', resolve);
    });
    expect(err.message).toBe('socket hang up');
    expect(classifyError(err)).toBe('eof_error');
  });

  it('eof_error: TLS peer closes on the ClientHello', async () => {
    const server = await keep(closeOnFirstData());
    const err = await tlsError(server.port, { servername: 'blocked.test' });
    expect(err.message).toMatch(/disconnected before secure TLS connection/);
    expect(classifyError(err)).toBe('eof_error');
  });
});

describe('undici failures on loopback', () => {
  it('eof_error: undici "other side closed"', async () => {
    const server = await keep(closeOnFirstData());
    const err = await request(`http://127.0.0.1:${server.port}/`).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('UND_ERR_SOCKET');
    expect(classifyError(err)).toBe('eof_error');
  });

  it('connection_reset: undici request reset after it was sent', async () => {
    const server = await keep(resetOnFirstData());
    const err = await request(`http://127.0.0.1:${server.port}/`).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err).not.toBeNull();
    expect(classifyError(err)).toBe('connection_reset');
  });

  it('generic_timeout_error: undici headersTimeout against a server that never answers', async () => {
    const server = await keep(hangServer());
    const client = new Client(`http://127.0.0.1:${server.port}`, { headersTimeout: 300 });
    const err = await client.request({ path: '/', method: 'GET' }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    await client.destroy();
    expect(err?.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(classifyError(err)).toBe('generic_timeout_error');
  });

  it('generic_timeout_error: undici bodyTimeout on a body that stalls', async () => {
    const server = await keep(tcpServer((s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc'))));
    const client = new Client(`http://127.0.0.1:${server.port}`, { bodyTimeout: 300 });
    const res = await client.request({ path: '/', method: 'GET' });
    const err = await res.body.text().catch((e: unknown) => e as { code?: string });
    await client.destroy();
    expect((err as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
    expect(classifyError(err)).toBe('generic_timeout_error');
  });

  it('generic_timeout_error vs interrupted: an AbortSignal deadline against a cancel', async () => {
    const server = await keep(hangServer());
    const timedOut = await request(`http://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(classifyError(timedOut)).toBe('generic_timeout_error');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await request(`http://127.0.0.1:${server.port}/`, { signal: controller.signal }).catch((e: unknown) => e);
    expect(classifyError(cancelled)).toBe('interrupted');
    expect(abortFailure(controller.signal)).toBe('interrupted');
    const deadline = new AbortController();
    deadline.abort(new DeadlineError());
    expect(abortFailure(deadline.signal)).toBe('generic_timeout_error');
  });
});

describe('DNS failures from a loopback server (c-ares)', () => {
  let server: TestDnsServer;
  beforeAll(async () => {
    // The name decides the answer, so one server covers every case.
    server = await keep(
      udpDnsServer(({ query, reply }) => {
        const name = query?.questions[0]?.name ?? '';
        if (!query) return;
        if (name.startsWith('nx.')) reply(answer(query, [], 3));
        else if (name.startsWith('servfail.')) reply(answer(query, [], 2));
        else if (name.startsWith('refused.')) reply(answer(query, [], 5));
        else if (name.startsWith('nodata.')) reply(answer(query, []));
        // anything else: silence
      }),
    );
  });

  async function resolveError(name: string): Promise<NodeJS.ErrnoException> {
    const resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([server.address]);
    return resolver.resolve4(name).then(
      () => {
        throw new Error('resolved');
      },
      (e: NodeJS.ErrnoException) => e,
    );
  }

  it.each([
    ['nx.blocked.test', 'ENOTFOUND', 'dns_nxdomain_error'],
    ['nodata.blocked.test', 'ENODATA', 'dns_no_answer'],
    ['servfail.blocked.test', 'ESERVFAIL', 'dns_servfail_error'],
    ['refused.blocked.test', 'EREFUSED', 'dns_refused_error'],
    ['silent.blocked.test', 'ETIMEOUT', 'generic_timeout_error'],
  ])('%s -> %s -> %s', async (name, code, failure) => {
    const err = await resolveError(name);
    expect(err.code).toBe(code);
    expect(classifyError(err)).toBe(failure);
  });
});

describe('TLS certificate and handshake failures on loopback', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  beforeAll(() => {
    pki = makePki();
    otherPki = makePki('unknown CA');
  });

  async function certError(server: { key: string; cert: string }, servername: string, extra: ConnectionOptions = {}) {
    const s = await keep(tlsServer(server));
    return tlsError(s.port, { servername, ca: [pki.ca.cert], ...extra });
  }

  it('ssl_invalid_hostname: a valid certificate for another name', async () => {
    const err = await certError(pki.leaf(['other.test']), 'blocked.test');
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(classifyError(err)).toBe('ssl_invalid_hostname');
  });

  it('ssl_unknown_authority: signed by a CA we do not trust', async () => {
    const err = await certError(otherPki.leaf(['blocked.test']), 'blocked.test');
    expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(classifyError(err)).toBe('ssl_unknown_authority');
  });

  it('ssl_unknown_authority: a self-signed certificate', async () => {
    const err = await certError(selfSignedLeaf('blocked.test'), 'blocked.test');
    expect(err.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(classifyError(err)).toBe('ssl_unknown_authority');
  });

  it('ssl_invalid_certificate: a CA certificate used as a server certificate', async () => {
    // Trusted (it is its own trust anchor) but not for serverAuth.
    const err = await certError(otherPki.ca, 'blocked.test', { ca: [otherPki.ca.cert] });
    expect(err.code).toBe('INVALID_PURPOSE');
    expect(classifyError(err)).toBe('ssl_invalid_certificate');
  });

  it('ssl_unknown_authority: an untrusted root sent in the chain', async () => {
    const leaf = otherPki.leaf(['blocked.test']);
    const err = await certError({ key: leaf.key, cert: leaf.cert + otherPki.ca.cert }, 'blocked.test');
    expect(err.code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    expect(classifyError(err)).toBe('ssl_unknown_authority');
  });

  it('ssl_invalid_certificate: an expired certificate', async () => {
    const err = await certError(pki.leaf(['blocked.test'], { expired: true }), 'blocked.test');
    expect(err.code).toBe('CERT_HAS_EXPIRED');
    expect(classifyError(err)).toBe('ssl_invalid_certificate');
  });

  it('ssl_failed_handshake: the server answers the ClientHello with garbage', async () => {
    const s = await keep(garbageServer(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const err = await tlsError(s.port, { servername: 'blocked.test' });
    expect(err.code).toMatch(/^ERR_SSL_/);
    expect(classifyError(err)).toBe('ssl_failed_handshake');
  });

  it('ssl_failed_handshake: the server only speaks TLS 1.2, the client insists on 1.3', async () => {
    const leaf = pki.leaf(['blocked.test']);
    const s = await keep(tlsServer({ ...leaf, maxVersion: 'TLSv1.2' }));
    const err = await tlsError(s.port, { servername: 'blocked.test', ca: [pki.ca.cert], minVersion: 'TLSv1.3' });
    expect(err.code).toMatch(/^ERR_SSL_.*(PROTOCOL_VERSION|VERSION)/);
    expect(classifyError(err)).toBe('ssl_failed_handshake');
  });

  it('certificate codes map the same way from authorizationError strings', () => {
    expect(classifyCertificateCode('CERT_NOT_YET_VALID')).toBe('ssl_invalid_certificate');
    expect(classifyCertificateCode('UNABLE_TO_GET_ISSUER_CERT_LOCALLY')).toBe('ssl_unknown_authority');
    expect(classifyCertificateCode('ECONNRESET')).toBeNull();
  });
});

describe('failures only a network namespace can produce', () => {
  let ns: TestNetns;
  beforeAll(() => {
    ns = TestNetns.create();
    // A route that answers "unreachable", and a port whose SYNs vanish with
    // one SYN retry, so the kernel's own connect timeout comes in seconds.
    ns.exec(['ip', 'route', 'add', 'unreachable', '10.99.0.0/16']);
    ns.exec(['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
    ns.exec(['sysctl', '-q', '-w', 'net.ipv4.tcp_syn_retries=1']);
  });
  afterAll(() => ns?.destroy());

  interface ConnectOutcome {
    code?: string;
    syscall?: string;
    failure?: string;
    connected?: boolean;
  }

  it('host_unreachable: EHOSTUNREACH from an unreachable route', async () => {
    const out = await ns.child<ConnectOutcome>({ kind: 'connect', host: '10.99.1.1', port: 80 });
    expect(out).toEqual({ code: 'EHOSTUNREACH', syscall: 'connect', failure: 'host_unreachable' });
  });

  it('network_unreachable: ENETUNREACH with no route at all', async () => {
    const out = await ns.child<ConnectOutcome>({ kind: 'connect', host: '10.1.2.3', port: 80 });
    expect(out).toEqual({ code: 'ENETUNREACH', syscall: 'connect', failure: 'network_unreachable' });
  });

  it('generic_timeout_error: the kernel gives up on a connect whose SYNs are dropped (ETIMEDOUT)', async () => {
    const out = await ns.child<ConnectOutcome>({ kind: 'connect', host: '127.0.0.1', port: 9 });
    expect(out).toEqual({ code: 'ETIMEDOUT', syscall: 'connect', failure: 'generic_timeout_error' });
  });

  it('getaddrinfo: NXDOMAIN is dns_nxdomain_error, SERVFAIL is dns_temporary_failure (EAI_AGAIN)', async () => {
    const nx = await ns.child<ConnectOutcome>({ kind: 'lookup', host: 'www.blocked.test', dns: { mode: 'nxdomain' } });
    expect(nx).toEqual({ code: 'ENOTFOUND', failure: 'dns_nxdomain_error' });
    const servfail = await ns.child<ConnectOutcome>({ kind: 'lookup', host: 'www.blocked.test', dns: { mode: 'servfail' } });
    expect(servfail).toEqual({ code: 'EAI_AGAIN', failure: 'dns_temporary_failure' });
  });
});

describe('wrapped errors', () => {
  it('fetch wraps the real error in a TypeError: the cause decides', async () => {
    const port = await refusedPort();
    const err = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe('fetch failed');
    expect(classifyError(err)).toBe('connection_refused');
  });
});
