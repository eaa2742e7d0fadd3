// Runs inside a TestNetns (see netns.ts): performs one scenario given as a
// JSON argument and prints one JSON line with what happened. It may start a
// DNS server on 127.0.0.1:53, which the namespace's resolv.conf points to.
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { promises as dnsPromises } from 'node:dns';
import { classifyError } from '../../../probes/failure.js';
import { dnsProbe, resolveNonexistentName } from '../../../probes/dns.js';
import { tcpProbe } from '../../../probes/tcp.js';
import { httpProbe } from '../../../probes/http.js';
import { tlsProbe } from '../../../probes/tls.js';
import type { ProbeOptions, Target } from '../../../probes/types.js';
import { DEFAULT_PROBE_OPTIONS } from '../../../src/config/schema.js';
import { addressAnswer, answer, udpDnsServer, type TestDnsServer } from './dns.js';

type DnsMode = 'answer' | 'nxdomain' | 'servfail' | 'refused' | 'silent' | 'nodata';

interface Scenario {
  kind: 'connect' | 'lookup' | 'probe' | 'nonexistent-name';
  host?: string;
  port?: number;
  probe?: 'dns' | 'tcp' | 'tls' | 'http';
  url?: string;
  addresses?: string[];
  options?: Partial<ProbeOptions>;
  dns?: { mode: DnsMode; v4?: string; v6?: string };
  /** Plain HTTP servers on 127.0.0.1:port: a redirect when `location` is set, else a 200 with `body`. */
  http?: { port: number; location?: string; body?: string }[];
  /** TLS servers on 127.0.0.1:port with this certificate; they hold the connection once secure. */
  tls?: { port: number; key: string; cert: string }[];
}

async function startServers(scenario: Scenario): Promise<Server[]> {
  const servers: Server[] = [];
  for (const spec of scenario.http ?? []) {
    servers.push(
      createHttpServer((_req, res) => {
        if (spec.location) res.writeHead(302, { location: spec.location, connection: 'close' }).end();
        else res.writeHead(200, { connection: 'close' }).end(spec.body ?? 'ok');
      }),
    );
  }
  for (const spec of scenario.tls ?? []) {
    const server = createTlsServer({ key: spec.key, cert: spec.cert }, (socket) => {
      socket.on('error', () => {});
      socket.resume();
    });
    server.on('tlsClientError', () => {});
    servers.push(server as unknown as Server);
  }
  const ports = [...(scenario.http ?? []), ...(scenario.tls ?? [])].map((s) => s.port);
  await Promise.all(servers.map((server, i) => new Promise<void>((resolve) => server.listen(ports[i], '127.0.0.1', () => resolve()))));
  return servers;
}

const RCODES: Record<string, number> = { nxdomain: 3, servfail: 2, refused: 5 };

async function startDns(spec: NonNullable<Scenario['dns']>): Promise<TestDnsServer> {
  return udpDnsServer(({ query, reply }) => {
    if (!query || spec.mode === 'silent') return;
    if (spec.mode === 'answer') reply(answer(query, addressAnswer(query, spec.v4 ?? null, spec.v6 ?? null)));
    else if (spec.mode === 'nodata') reply(answer(query, []));
    else reply(answer(query, [], RCODES[spec.mode]));
  }, { port: 53 });
}

async function main(): Promise<unknown> {
  const scenario = JSON.parse(process.argv[2] ?? '{}') as Scenario;
  if (scenario.kind === 'connect') {
    return new Promise((resolve) => {
      const socket = connect({ host: scenario.host!, port: scenario.port! });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ connected: true });
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code, syscall: err.syscall, failure: classifyError(err) }));
    });
  }
  const server = scenario.dns ? await startDns(scenario.dns) : null;
  await startServers(scenario);
  try {
    if (scenario.kind === 'lookup') {
      try {
        const found = await dnsPromises.lookup(scenario.host!, { all: true });
        return { addresses: found.map((f) => f.address) };
      } catch (err) {
        return { code: (err as NodeJS.ErrnoException).code, failure: classifyError(err) };
      }
    }
    if (scenario.kind === 'nonexistent-name') return await resolveNonexistentName({ ...DEFAULT_PROBE_OPTIONS, ...scenario.options }, new AbortController().signal);
    const target: Target = { raw: scenario.url!, category: 'MISC', tags: [], inputs: [scenario.url!] };
    const input = { target, url: scenario.url!, addresses: scenario.addresses ?? [], options: { ...DEFAULT_PROBE_OPTIONS, ...scenario.options } };
    const probe = scenario.probe === 'tcp' ? tcpProbe : scenario.probe === 'tls' ? tlsProbe : scenario.probe === 'http' ? httpProbe : dnsProbe;
    return await probe.run(input, new AbortController().signal);
  } finally {
    await server?.close();
  }
}

main().then(
  (out) => {
    process.stdout.write(JSON.stringify(out) + '\n');
    // A getaddrinfo we stopped waiting for may still hold the loop: we are done.
    process.exit(0);
  },
  (err) => {
    process.stderr.write(String(err?.stack ?? err) + '\n');
    process.exit(1);
  },
);
