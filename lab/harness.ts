// The lab harness: build the namespaces and services (setupLab), switch the
// censor's techniques (applyScenario / clearCensor), run the REAL `rasad once`
// in the client namespace against a scenario and compare its verdicts with
// the expected ones (runScenario), and take everything down (teardownLab:
// idempotent, also on SIGINT/SIGTERM, and run first as a stale-lab cleanup).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BLOCKPAGE_IPS,
  CDN_CONTROL_IP,
  CONTROL_IP,
  CONTROL_URL,
  DOMESTIC_DNS_IP,
  DOMESTIC_ECHO_IP,
  ECHO2_IP,
  ECHO_IP,
  ECHO_TCP_PORTS,
  HABIT_SITES,
  PUBLIC_BLOCKPAGE_IP,
  SITES,
  V6_ONLY_ADDRESS,
  WEB_SITES,
  WORLD_ALT_DNS_IP,
  REWRITING_DNS_IP,
  REWRITTEN_NXDOMAIN_ANSWER,
  WORLD_DNS_IP,
  type Namespace,
} from './addresses.js';
import { applyCensorPlan, clearCensorState, installCensorBase } from './censor-apply.js';
import { appsServiceConfig, labAppEndpoints, SIGNAL_HOSTS } from './apps.js';
import { circumventionConfig } from './circumvention.js';
import { planCensor, type CensorSpec, type WorldSpec } from './censor.js';
import { hasCommand, requireRoot, TOOL_PACKAGES } from './exec.js';
import { makeLabPki, makeSignalPki, type LabPki, type SignalPki } from './pki.js';
import { isAlive, logTail, startInNamespace, waitListening, waitReady, type StartedProcess } from './processes.js';
import { compareEvents, compareRows, formatTable, loadScenario, type ComparisonRow, type ExportedRow, type Scenario } from './scenario.js';
import type { DnsServerConfig } from './services/dns-server.js';
import type { HabitsConfig } from './services/habits.js';
import type { WebConfig } from './services/web.js';
import { clientResolverFor, createTopology, destroyTopology, writeResolvConf } from './topology.js';

/** The repository root, from this file's location (lab/harness.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STATE_DIR = join(tmpdir(), 'rasad-lab');
const RUNS_DIR = join(STATE_DIR, 'runs');
const RASAD_CLI = join(REPO_ROOT, 'src', 'cli.ts');

/**
 * The lab's defaults for rasad: short timeouts so blocked targets fail fast,
 * and one retry (the lab is deterministic; the noise scenario sets rasad's
 * own default back). A scenario's `config` wins.
 */
export const LAB_RASAD_CONFIG = { probe: { timeoutMs: 3000, dnsListenWindowMs: 500 }, retries: 1 };
const RASAD_ONCE_TIMEOUT_MS = 240_000;

export interface LabInfo {
  stateDir: string;
  pki: LabPki;
  /** The stand-in Signal CA (lab/apps.ts), trusted by the probe only through probe.appEndpoints.signal.caPem. */
  signalPki: SignalPki;
  /** The control helper (rasad helper) is listening on CONTROL_IP:80. */
  controlAvailable: boolean;
  /** Why not, when it is not. */
  controlProblem: string | null;
}

let current: LabInfo | null = null;
let signalHandler: ((signal: NodeJS.Signals) => void) | null = null;

const REQUIRED_COMMANDS = ['ip', 'iptables', 'tc', 'openssl', 'sysctl', 'ss', 'tor', 'obfs4proxy', 'openvpn', 'wireguard-go', 'wg'];
/** The circumvention servers' packages (lab/services/circumvention.ts), where the command is not the package's name. */
const CIRCUMVENTION_PACKAGES: Record<string, string> = { wg: 'wireguard-tools' };

function checkTools(): void {
  const missing = REQUIRED_COMMANDS.filter((c) => !hasCommand(c));
  if (!existsSync('/usr/bin/python3')) missing.push('python3');
  // wireguard-go (lab/services/circumvention.ts) makes a TUN device in world.
  if (!existsSync('/dev/net/tun')) throw new Error('the lab needs /dev/net/tun for wireguard-go (a TUN device in world): modprobe tun, or give the container the device');
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((c) => TOOL_PACKAGES[c] ?? CIRCUMVENTION_PACKAGES[c] ?? c))];
  throw new Error(`the lab needs ${missing.join(', ')}: apt-get install ${packages.join(' ')} (all of lab/packages.txt: apt-get install $(cat lab/packages.txt))`);
}

function installSignalHandlers(): void {
  if (signalHandler) return;
  signalHandler = (signal) => {
    teardownLab();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', signalHandler);
  process.once('SIGTERM', signalHandler);
}

function removeSignalHandlers(): void {
  if (!signalHandler) return;
  process.off('SIGINT', signalHandler);
  process.off('SIGTERM', signalHandler);
  signalHandler = null;
}

function writeJson(name: string, value: unknown): string {
  const file = join(STATE_DIR, name);
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/** Where the control's queries come from (its own link to the world): the CDN answers it differently. */
const CONTROL_SIDE_RANGE = '10.77.5.0/24';
/** The probe's own network: the CDN localises its page for it. */
const PROBE_RANGE = '10.77.1.0/24';

export function dnsConfig(listen: string[]): DnsServerConfig {
  const records: Record<string, string[]> = {};
  for (const s of SITES) records[s.name] = s.habit === 'v6-first' ? [V6_ONLY_ADDRESS, s.ip] : [s.ip];
  const cdn = SITES.filter((s) => s.habit === 'cdn').map((s) => s.name);
  const bySource = [{ from: CONTROL_SIDE_RANGE, records: Object.fromEntries(cdn.map((name) => [name, [CDN_CONTROL_IP]])) }];
  return { listen, port: 53, zones: ['world.test', 'domestic.test'], records, bySource };
}

function startServices(pki: LabPki, signalPki: SignalPki): StartedProcess[] {
  const opts = { dir: STATE_DIR, cwd: REPO_ROOT };
  const node = (file: string, config: string) => [process.execPath, '--import', 'tsx', file, config];
  const web = (side: 'world' | 'domestic'): WebConfig => ({
    sites: WEB_SITES.filter((s) => s.side === side).map(({ ip, name, title }) => ({ ip, name, title })),
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    httpPort: 80,
    httpsPort: 443,
  });
  const habits: HabitsConfig = {
    sites: HABIT_SITES.map(({ name, ip, title, habit }) => ({ name, ip, title, habit: habit!, ...(habit === 'cdn' ? { extraIps: [CDN_CONTROL_IP] } : {}) })),
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    probeRange: PROBE_RANGE,
  };
  return [
    startInNamespace('world', 'world-web', node('lab/services/web.ts', writeJson('world-web.json', web('world'))), opts),
    startInNamespace('world', 'world-habits', node('lab/services/habits.ts', writeJson('world-habits.json', habits)), opts),
    startInNamespace('world', 'world-dns', node('lab/services/dns-server.ts', writeJson('world-dns.json', dnsConfig([WORLD_DNS_IP, WORLD_ALT_DNS_IP]))), opts),
    startInNamespace('world', 'world-rewriting-dns', node('lab/services/dns-server.ts', writeJson('world-rewriting-dns.json', { ...dnsConfig([REWRITING_DNS_IP]), rewriteNxdomain: REWRITTEN_NXDOMAIN_ANSWER })), opts),
    startInNamespace('world', 'world-apps', node('lab/services/apps.ts', writeJson('world-apps.json', appsServiceConfig({ certFile: signalPki.serverCert, keyFile: signalPki.serverKey }))), opts),
    startInNamespace('world', 'world-echo', node('lab/services/echo.ts', writeJson('world-echo.json', { ips: [ECHO_IP, ECHO2_IP], ports: [...ECHO_TCP_PORTS] })), opts),
    startInNamespace('domestic', 'domestic-web', node('lab/services/web.ts', writeJson('domestic-web.json', web('domestic'))), opts),
    startInNamespace('domestic', 'domestic-dns', node('lab/services/dns-server.ts', writeJson('domestic-dns.json', dnsConfig([DOMESTIC_DNS_IP]))), opts),
    startInNamespace('domestic', 'domestic-echo', node('lab/services/echo.ts', writeJson('domestic-echo.json', { ips: [DOMESTIC_ECHO_IP], ports: [...ECHO_TCP_PORTS] })), opts),
    startInNamespace('censor', 'censor-blockpage', node('lab/services/blockpage.ts', writeJson('censor-blockpage.json', { ips: [...BLOCKPAGE_IPS, PUBLIC_BLOCKPAGE_IP], port: 80 })), opts),
  ];
}

/** rasad's own control helper on the control host, when the CLI exists. */
async function startControlHelper(pki: LabPki): Promise<{ ok: boolean; problem: string | null }> {
  if (!existsSync(RASAD_CLI)) return { ok: false, problem: `${RASAD_CLI} does not exist yet` };
  const helper = startInNamespace('control', 'control-helper',
    [process.execPath, '--import', 'tsx', RASAD_CLI, 'helper', '--listen', '0.0.0.0:80', '--allow-private'],
    { dir: STATE_DIR, cwd: REPO_ROOT, env: { NODE_EXTRA_CA_CERTS: pki.caCert } });
  const up = await waitListening('control', CONTROL_IP, 80, 30_000, () => isAlive(helper.pid));
  return up ? { ok: true, problem: null } : { ok: false, problem: `rasad helper did not start listening:\n${logTail(helper.logFile)}` };
}

/** Builds the whole lab from scratch (a stale lab is removed first). Needs root. */
export async function setupLab(opts: { handleSignals?: boolean } = {}): Promise<LabInfo> {
  requireRoot();
  checkTools();
  teardownLab({ keepRuns: true }); // a stale lab; earlier runs' files stay for reading
  if (opts.handleSignals !== false) installSignalHandlers();
  // A fresh state (keys, configs, logs), but earlier scenario runs stay for reading.
  if (existsSync(STATE_DIR)) {
    for (const entry of readdirSync(STATE_DIR)) if (entry !== 'runs') rmSync(join(STATE_DIR, entry), { recursive: true, force: true });
  }
  mkdirSync(RUNS_DIR, { recursive: true });
  const pki = makeLabPki(STATE_DIR);
  const signalPki = makeSignalPki(STATE_DIR, SIGNAL_HOSTS);
  try {
    createTopology();
    installCensorBase();
    await waitReady(startServices(pki, signalPki));
    // Tor, obfs4proxy, OpenVPN and wireguard-go take longer to come up than the lab's own services.
    const circumvention = startInNamespace('world', 'world-circumvention',
      [process.execPath, '--import', 'tsx', 'lab/services/circumvention.ts', writeJson('world-circumvention.json', circumventionConfig(STATE_DIR))],
      { dir: STATE_DIR, cwd: REPO_ROOT });
    await waitReady([circumvention], 90_000);
    const control = await startControlHelper(pki);
    current = { stateDir: STATE_DIR, pki, signalPki, controlAvailable: control.ok, controlProblem: control.problem };
    writeFileSync(join(STATE_DIR, 'lab.json'), JSON.stringify(current, null, 2));
    return current;
  } catch (err) {
    teardownLab();
    throw err;
  }
}

/** The running lab's info (from this process, or from lab.json written by `lab/cli.ts up`). */
export function labInfo(): LabInfo {
  if (current) return current;
  const file = join(STATE_DIR, 'lab.json');
  if (!existsSync(file)) throw new Error('the lab is not up: run `node --import tsx lab/cli.ts up` (as root) first');
  current = JSON.parse(readFileSync(file, 'utf8')) as LabInfo;
  return current;
}

/**
 * Stops every lab process, deletes the namespaces and the lab's state
 * directory (keys, configs, logs). The runs' files stay only when asked
 * (`keepRuns`, or RASAD_LAB_KEEP=1): a by-hand run is for reading them. The
 * CA and server keys never stay. Idempotent, synchronous (safe in signal handlers).
 */
export function teardownLab(opts: { keepRuns?: boolean } = {}): void {
  // Without root there is nothing this process could have built, or could take down.
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return;
  destroyTopology();
  const keepRuns = opts.keepRuns ?? process.env.RASAD_LAB_KEEP === '1';
  try {
    if (existsSync(STATE_DIR)) {
      const remove = (path: string) => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      if (keepRuns) for (const entry of readdirSync(STATE_DIR)) if (entry !== 'runs') remove(join(STATE_DIR, entry));
      if (!keepRuns) remove(STATE_DIR);
    }
  } catch (err) {
    process.stderr.write(`lab: could not remove ${STATE_DIR}: ${(err as Error).message}\n`);
  }
  current = null;
  removeSignalHandlers();
}

/** The censor does nothing again; the client asks the world's resolver. */
export function clearCensor(): void {
  clearCensorState({ dir: STATE_DIR, repoRoot: REPO_ROOT });
  writeResolvConf('client', clientResolverFor('world'));
}

export type CensorSetting = Pick<Scenario, 'censor'> & Partial<Pick<Scenario, 'world' | 'resolver'>>;

/** Switches the censor to a scenario's techniques (everything else is cleared first). */
export async function applyScenario(s: CensorSetting): Promise<void> {
  const plan = planCensor(s.censor as CensorSpec, (s.world ?? {}) as WorldSpec);
  clearCensor();
  writeResolvConf('client', clientResolverFor(s.resolver ?? 'world'));
  await applyCensorPlan(plan, { dir: STATE_DIR, repoRoot: REPO_ROOT });
}

/** The arguments of `rasad once` against the lab: its resolver and its control helper. */
export function onceArgs(o: { targets: string; db: string; config: string; probes: readonly string[]; resolver?: Scenario['resolver'] }): string[] {
  return ['once', '--targets', o.targets, '--db', o.db, '--config', o.config, '--probes', o.probes.join(','),
    '--resolver', `${clientResolverFor(o.resolver ?? 'world')}:53`, '--control', CONTROL_URL];
}

export interface ScenarioReport {
  scenario: Scenario;
  rows: ComparisonRow[];
  mismatches: ComparisonRow[];
  table: string;
  runDir: string;
}

function labProblem(scenario: Scenario, problem: string, runDir: string): ScenarioReport {
  const rows = [{ target: '(lab)', probe: '-', expected: 'rasad runs', got: problem, ok: false }];
  const table = formatTable(rows);
  return { scenario, rows, mismatches: rows, table, runDir };
}

/** Runs a command in a namespace, output to files, with a time limit. Resolves with its exit code. */
function runLogged(ns: Namespace, argv: string[], outFile: string, errFile: string, timeoutMs: number, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolvePromise) => {
    const out = openSync(outFile, 'w');
    const err = openSync(errFile, 'w');
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: REPO_ROOT, stdio: ['ignore', out, err], env: { ...process.env, ...env } });
    closeSync(out);
    closeSync(err);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => resolvePromise(null));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}

/**
 * The real `rasad <args>` in the client namespace, trusting the lab CA, with
 * the thread pool bin/rasad gives it; stdout and stderr go to files. Resolves
 * with its exit code (null: it could not start, or was killed at the time limit).
 */
export function rasadInClient(args: string[], outFile: string, errFile: string, timeoutMs = RASAD_ONCE_TIMEOUT_MS): Promise<number | null> {
  // As bin/rasad starts it: getaddrinfo cannot be cancelled, and with libuv's
  // default pool the lookups of a dead network queue up and hold the process
  // long after its sweep (44 s in network-offline).
  const env = { NODE_EXTRA_CA_CERTS: labInfo().pki.caCert, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '64' };
  return runLogged('client', [process.execPath, '--import', 'tsx', RASAD_CLI, ...args], outFile, errFile, timeoutMs, env);
}

export type ExportFormat = 'jsonl' | 'csv' | 'ooni';

/**
 * `rasad export --db <db> --format <format> [extra]` written to outFile.
 * Throws with the end of its stderr when it fails.
 */
export async function exportDb(db: string, format: ExportFormat, outFile: string, extra: string[] = []): Promise<string> {
  const errFile = `${outFile}.err`;
  const code = await rasadInClient(['export', '--db', db, '--format', format, ...extra], outFile, errFile, 60_000);
  if (code !== 0) throw new Error(`rasad export --format ${format} ${extra.join(' ')} exited ${code}: ${lastLines(errFile)}`);
  return readFileSync(outFile, 'utf8');
}

/**
 * The lab's rasad config with a scenario's (or a test's) overrides merged in,
 * written to a file. The lab's defaults also point the messaging-app
 * experiments at their stand-ins (probe.appEndpoints, lab/apps.ts).
 */
export function writeRasadConfig(file: string, overrides: Record<string, unknown>): string {
  const signalCa = labInfo().signalPki?.caCert;
  if (!signalCa) throw new Error('the running lab has no Signal CA (built before lab/apps.ts): take it down and up again');
  const apps = { probe: { appEndpoints: labAppEndpoints(readFileSync(signalCa, 'utf8')) } };
  writeFileSync(file, JSON.stringify(mergeConfig(mergeConfig(LAB_RASAD_CONFIG, apps), overrides), null, 2));
  return file;
}

/** A fresh directory for one run's files, under the lab's runs directory. */
export function newRunDir(name: string): string {
  const dir = join(RUNS_DIR, `${name}-${Date.now()}-${++runCounter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function lastLines(file: string, n = 5): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-n).join(' | ') : '';
}

let runCounter = 0;

/**
 * Applies the scenario, runs `rasad once` in the client namespace, exports the
 * measurements, and compares each (url, probe)'s verdict with the expected
 * one. Prints the table `target | probe | expected | got` (unless quiet) and
 * returns the mismatches. The censor is cleared afterwards.
 */
export async function runScenario(fileOrScenario: string | Scenario, opts: { quiet?: boolean } = {}): Promise<ScenarioReport> {
  const scenario = typeof fileOrScenario === 'string' ? loadScenario(fileOrScenario) : fileOrScenario;
  const lab = labInfo();
  const runDir = newRunDir(scenario.name);
  const report = await (async (): Promise<ScenarioReport> => {
    if (!existsSync(RASAD_CLI)) return labProblem(scenario, `${RASAD_CLI} does not exist yet (the CLI is being written)`, runDir);
    if (scenario.needsControl && !lab.controlAvailable) return labProblem(scenario, `the control helper is not running: ${lab.controlProblem}`, runDir);
    const targets = join(runDir, 'targets.txt');
    const config = join(runDir, 'config.json');
    const db = join(runDir, 'rasad.db');
    writeFileSync(targets, `# scenario ${scenario.name}\n${scenario.targets.join('\n')}\n`);
    writeRasadConfig(config, scenario.config);
    try {
      await applyScenario(scenario);
      const code = await rasadInClient(onceArgs({ targets, db, config, probes: scenario.probes, resolver: scenario.resolver }),
        join(runDir, 'once.out'), join(runDir, 'once.err'));
      if (code !== 0) return labProblem(scenario, `rasad once exited ${code}: ${lastLines(join(runDir, 'once.err'))}`, runDir);
      const exportOut = join(runDir, 'export.jsonl');
      const exportCode = await rasadInClient(['export', '--db', db, '--format', 'jsonl'], exportOut, join(runDir, 'export.err'), 60_000);
      if (exportCode !== 0) return labProblem(scenario, `rasad export exited ${exportCode}: ${lastLines(join(runDir, 'export.err'))}`, runDir);
      const rows = parseJsonl(readFileSync(exportOut, 'utf8'));
      const compared = compareRows(scenario, rows);
      if (scenario.events.length > 0) {
        const eventsOut = join(runDir, 'events.jsonl');
        const eventsCode = await rasadInClient(['export', '--db', db, '--format', 'jsonl', '--events'], eventsOut, join(runDir, 'events.err'), 60_000);
        if (eventsCode !== 0) return labProblem(scenario, `rasad export --events exited ${eventsCode}: ${lastLines(join(runDir, 'events.err'))}`, runDir);
        compared.push(...compareEvents(scenario, parseJsonl(readFileSync(eventsOut, 'utf8'))));
      }
      return { scenario, rows: compared, mismatches: compared.filter((r) => !r.ok), table: formatTable(compared), runDir };
    } finally {
      clearCensor();
    }
  })();
  writeFileSync(join(runDir, 'verdicts.txt'), `${report.table}\n`);
  if (!opts.quiet) {
    process.stdout.write(`\nscenario ${scenario.name}${scenario.description ? ` — ${scenario.description}` : ''}\n${report.table}\n` +
      `${report.mismatches.length} mismatch${report.mismatches.length === 1 ? '' : 'es'} (run files: ${runDir})\n`);
  }
  return report;
}

export function parseJsonl(text: string): ExportedRow[] {
  const rows: ExportedRow[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as ExportedRow);
    } catch {
      rows.push({ url: '(unparseable export line)', probe: '-', verdict: line.slice(0, 80) });
    }
  }
  return rows;
}

/** Deep merge of plain objects (the scenario's overrides win). */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
