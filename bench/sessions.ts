// How many tls_duration sessions can one probe hold? Starts a loopback TLS
// and plain HTTP keep-alive server in a child process, holds N concurrent
// tls_duration probes (each one TLS session plus its plain comparison
// session) for --hold-s seconds, and prints the memory, idle CPU and
// event-loop lag they cost. Goals are printed next to the figures, not
// asserted.
//
//   node --import tsx bench/sessions.ts [--sessions 500,2000] [--hold-s 10] [--no-plain] [--control]
//
// --control holds the sessions the way the long-lived control endpoint does
// (handleLongControl, src/control/long/), to see what a helper pays per
// session it holds for probes.
//
// Loopback only: the server binds 127.0.0.1 and the probes are given its
// address, so no name is resolved and nothing leaves the machine.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tlsDurationProbe } from '../probes/tls_duration.js';
import type { ProbeOptions, ProbeResult, TlsDurationDetails } from '../probes/types.js';
import { handleLongControl } from '../src/control/long/handler.js';
import { LONG_LIMITS } from '../src/control/long/request.js';
import { makePki } from '../tests/helpers/certs.js';

const HOST = 'bench.probe.test';
const GOAL_KIB_PER_SESSION = 100;
const GOAL_LAG_P99_MS = 20;
/** monitorEventLoopDelay samples every this many ms, and its figures include that interval. */
const LAG_RESOLUTION_MS = 10;

type ServerMessage = { kind: 'ready'; tlsPort: number; plainPort: number; caPem: string } | { kind: 'connections'; tls: number; plain: number };

// ---------------------------------------------------------------------------
// The child: a keep-alive server that never closes idle connections.

async function serve(): Promise<void> {
  const pki = makePki('bench CA');
  const leaf = pki.leaf([HOST]);
  const body = Buffer.alloc(256, 'b');
  const answer = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  };
  const tlsServer = createHttpsServer({ key: leaf.key, cert: leaf.cert }, answer);
  const plainServer = createHttpServer(answer);
  for (const server of [tlsServer, plainServer]) {
    server.keepAliveTimeout = 0;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    server.maxConnections = 100_000;
  }
  const listen = (server: typeof plainServer) =>
    new Promise<number>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve((server.address() as AddressInfo).port)));
  const [tlsPort, plainPort] = await Promise.all([listen(tlsServer), listen(plainServer)]);
  const count = (server: typeof plainServer) => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n ?? 0)));
  process.on('message', async (msg: { kind: string }) => {
    if (msg.kind === 'count') {
      const [tls, plain] = await Promise.all([count(tlsServer), count(plainServer)]);
      process.send!({ kind: 'connections', tls, plain } satisfies ServerMessage);
    } else if (msg.kind === 'exit') {
      process.exit(0);
    }
  });
  process.send!({ kind: 'ready', tlsPort, plainPort, caPem: pki.ca.cert } satisfies ServerMessage);
}

// ---------------------------------------------------------------------------
// The parent: the probe process being measured.

interface Args {
  sessions: number[];
  holdS: number;
  plain: boolean;
  /** Hold the sessions through the long-lived control endpoint's handler instead of the probe. */
  control: boolean;
}

const USAGE = 'usage: bench/sessions.ts [--sessions 500,2000] [--hold-s 10] [--no-plain] [--control]';

function parseArgs(argv: string[]): Args {
  let sessions = [500, 2000];
  let holdS = 10;
  let plain = true;
  let control = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--sessions') sessions = (argv[++i] ?? '').split(',').map(Number);
    else if (arg === '--hold-s') holdS = Number(argv[++i]);
    else if (arg === '--no-plain') plain = false;
    else if (arg === '--control') control = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}; ${USAGE}`);
  }
  if (sessions.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--sessions takes a comma-separated list of positive integers');
  if (!Number.isFinite(holdS) || holdS <= 0) throw new Error('--hold-s takes a positive number of seconds');
  if (control && holdS * 1000 + 60_000 > LONG_LIMITS.maxHorizonMs) throw new Error(`--control holds a session ${LONG_LIMITS.maxHorizonMs / 1000} s at most: use --hold-s ${LONG_LIMITS.maxHorizonMs / 1000 - 60} or less`);
  return { sessions, holdS, plain, control };
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ask(child: ChildProcess, kind: string): Promise<ServerMessage> {
  return new Promise((resolve) => {
    child.once('message', (m: ServerMessage) => resolve(m));
    child.send({ kind });
  });
}

function fdLimit(): number | null {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}

interface Figures {
  n: number;
  rssPerProbeKiB: number;
  heapPerProbeKiB: number;
  cpuPercent: number;
  lagP99Ms: number;
  lagMaxMs: number;
  established: number;
  diedEarly: number;
}

async function holdSessions(child: ChildProcess, server: Extract<ServerMessage, { kind: 'ready' }>, n: number, args: Args): Promise<Figures> {
  const { holdS, plain } = args;
  const options: ProbeOptions = {
    timeoutMs: 30_000,
    resolver: '',
    dohUrl: null,
    dnsListenWindowMs: 0,
    extraCaPem: server.caPem,
    innocuousSni: 'example.org',
    bodyCapBytes: 1024,
    bodyReadLimitBytes: 64 * 1024,
    userAgent: 'rasad-bench',
    sessionHorizonMs: (holdS + 300) * 1000, // outlives the hold: the sessions are ended by abort
    sessionIntervalMs: 5_000,
    throughputBytes: 1,
    throughputMaxMs: 1,
    sessionPlainPort: plain ? server.plainPort : 0,
  };
  const input = {
    target: { raw: `https://${HOST}/`, category: 'MISC', tags: [], inputs: [] },
    url: `https://${HOST}:${server.tlsPort}/`,
    addresses: ['127.0.0.1'],
    options,
  };

  gc();
  await sleep(200);
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;

  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one signal is shared by all the probes here
  const runs: Promise<ProbeResult<TlsDurationDetails>>[] = [];
  // The endpoint's way: a request per session, measured with the probe's code behind the address policy.
  const viaControl = async (): Promise<ProbeResult<TlsDurationDetails>> => {
    const answer = await handleLongControl(
      {
        kind: 'tls_duration',
        url: input.url,
        ip: '127.0.0.1',
        horizon_ms: Math.min(LONG_LIMITS.maxHorizonMs, (holdS + 60) * 1000),
        interval_ms: options.sessionIntervalMs,
        plain_port: options.sessionPlainPort!,
      },
      { allowPrivate: true, extraCaPem: server.caPem, timeoutMs: options.timeoutMs },
      controller.signal,
    );
    if (answer.kind !== 'tls_duration') throw new Error('unexpected answer kind');
    return answer.result;
  };
  // Ramp up in batches so the server's accept queue is not flooded.
  for (let i = 0; i < n; i += 50) {
    for (let j = i; j < Math.min(n, i + 50); j++) runs.push(args.control ? viaControl() : tlsDurationProbe.run(input, controller.signal));
    await sleep(25);
  }
  const wanted = n * (plain ? 2 : 1);
  let established = 0;
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const c = (await ask(child, 'count')) as Extract<ServerMessage, { kind: 'connections' }>;
    established = c.tls + c.plain;
    if (established >= wanted) break;
    await sleep(250);
  }
  await sleep(1000);
  gc();
  const rssWith = process.memoryUsage().rss;
  const heapWith = process.memoryUsage().heapUsed;

  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  await sleep(holdS * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1000;
  lag.disable();

  controller.abort();
  const results = await Promise.all(runs);
  // Every session should still have been alive when the hold ended.
  const diedEarly = results.filter((r) => r.details.tls.failure !== 'interrupted' || (plain && r.details.plain?.failure !== 'interrupted')).length;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const c = (await ask(child, 'count')) as Extract<ServerMessage, { kind: 'connections' }>;
    if (c.tls + c.plain === 0) break;
    await sleep(250);
  }
  return {
    n,
    rssPerProbeKiB: (rssWith - rssBefore) / n / 1024,
    heapPerProbeKiB: (heapWith - heapBefore) / n / 1024,
    cpuPercent: ((cpu.user + cpu.system) / wallUs) * 100,
    // The histogram holds whole sampling intervals: the lag is what exceeds the interval.
    lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
    lagMaxMs: Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS),
    established,
    diedEarly,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { sessions, holdS, plain } = args;
  const limit = fdLimit();
  const perProbe = plain ? 2 : 1;
  const biggest = Math.max(...sessions);
  console.log(`fd limit (ulimit -n): ${limit ?? 'unknown'}; ${biggest} probes hold ${biggest * perProbe} sockets here (and as many in the server child)`);
  if (limit !== null && biggest * perProbe + 64 > limit) {
    console.log(`  not enough: raise it first, e.g. ulimit -n ${Math.max(4096, biggest * perProbe * 2)}`);
  }

  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const server = await new Promise<Extract<ServerMessage, { kind: 'ready' }>>((resolve, reject) => {
    child.once('message', (m: ServerMessage) => (m.kind === 'ready' ? resolve(m) : reject(new Error('unexpected message'))));
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });

  const rows: Figures[] = [];
  try {
    for (const n of sessions) {
      const who = args.control ? 'control-endpoint sessions' : 'tls_duration probes';
      console.log(`holding ${n} ${who} (${plain ? 'TLS + plain session each' : 'TLS session only'}) for ${holdS} s ...`);
      rows.push(await holdSessions(child, server, n, args));
    }
  } finally {
    child.send({ kind: 'exit' });
  }

  console.log('');
  console.log(`probes  sockets-up  RSS/probe KiB  heap/probe KiB  idle CPU %  lag p99 ms  lag max ms  died early`);
  for (const r of rows) {
    console.log(
      `${String(r.n).padStart(6)}  ${String(r.established).padStart(10)}  ${r.rssPerProbeKiB.toFixed(1).padStart(13)}  ${r.heapPerProbeKiB
        .toFixed(1)
        .padStart(14)}  ${r.cpuPercent.toFixed(2).padStart(10)}  ${r.lagP99Ms.toFixed(2).padStart(10)}  ${r.lagMaxMs.toFixed(2).padStart(10)}  ${String(
        r.diedEarly,
      ).padStart(10)}`,
    );
  }
  const per = plain ? 'probe (TLS + plain session)' : 'session';
  console.log(`goals: < ${GOAL_KIB_PER_SESSION} KiB per session (figures above are per ${per}), event-loop lag p99 < ${GOAL_LAG_P99_MS} ms`);
}

if (process.argv.includes('--serve')) {
  await serve();
} else {
  await main();
}
