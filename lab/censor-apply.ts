// Running a censor plan inside the namespaces: the chains every scenario
// writes into, the censor's userspace programs (middlebox, nfqueue), and
// going back to a censor that does nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CENSOR_CLIENT_DEV, type Namespace } from './addresses.js';
import type { CensorPlan } from './censor.js';
import { iptables, nsTryRun, run, tryRun } from './exec.js';
import { startInNamespace, stopByPidFile, waitReady } from './processes.js';

/** Chains every scenario writes into, created once at setup, flushed by clearCensorState. */
const CHAINS: Array<{ ns: Namespace; table: string; chain: string; from: string[] }> = [
  { ns: 'censor', table: 'filter', chain: 'LAB', from: ['FORWARD', 'INPUT'] },
  { ns: 'censor', table: 'nat', chain: 'LAB_NAT', from: ['PREROUTING'] },
  { ns: 'censor', table: 'mangle', chain: 'LAB_PRE', from: ['PREROUTING'] },
  { ns: 'censor', table: 'mangle', chain: 'LAB_MFWD', from: ['FORWARD'] },
  { ns: 'world', table: 'filter', chain: 'LAB', from: ['INPUT'] },
  { ns: 'control', table: 'filter', chain: 'LAB', from: ['INPUT'] },
];

export function installCensorBase(): void {
  for (const c of CHAINS) {
    iptables(c.ns, ['-t', c.table, '-N', c.chain]);
    for (const parent of c.from) iptables(c.ns, ['-t', c.table, '-A', parent, '-j', c.chain]);
  }
  // Forged DNS answers stay out of conntrack, or they would clash with the query's own entry.
  iptables('censor', ['-t', 'raw', '-A', 'OUTPUT', '-m', 'mark', '--mark', '0x77', '-j', 'CT', '--notrack']);
}

export interface CensorContext {
  /** Where configs, logs and pid files go. */
  dir: string;
  repoRoot: string;
}

const CENSOR_PROGRAMS = ['censor-middlebox', 'censor-nfqueue'];

export async function applyCensorPlan(plan: CensorPlan, ctx: CensorContext): Promise<void> {
  const started = [];
  if (plan.middlebox) {
    const file = join(ctx.dir, 'censor-middlebox.json');
    writeFileSync(file, JSON.stringify(plan.middlebox, null, 2));
    started.push(startInNamespace('censor', 'censor-middlebox', [process.execPath, '--import', 'tsx', 'lab/services/middlebox.ts', file], { dir: ctx.dir, cwd: ctx.repoRoot }));
  }
  if (plan.nfqueue) {
    const file = join(ctx.dir, 'censor-nfqueue.json');
    writeFileSync(file, JSON.stringify(plan.nfqueue, null, 2));
    started.push(startInNamespace('censor', 'censor-nfqueue', ['/usr/bin/python3', '-u', 'lab/services/nfqueue.py', file], { dir: ctx.dir, cwd: ctx.repoRoot }));
  }
  // Programs first, rules after: no packet is queued or diverted to a program that is not there yet.
  await waitReady(started);
  for (const rule of plan.iptables) iptables(rule.ns, rule.args);
  for (const args of plan.tc) run('tc', ['-n', 'censor', ...args]);
}

/** Back to a censor that does nothing. Idempotent. */
export function clearCensorState(ctx: CensorContext): void {
  for (const c of CHAINS) nsTryRun(c.ns, 'iptables', ['-w', '-t', c.table, '-F', c.chain]);
  tryRun('tc', ['-n', 'censor', 'qdisc', 'del', 'dev', CENSOR_CLIENT_DEV, 'root']);
  for (const name of CENSOR_PROGRAMS) stopByPidFile(ctx.dir, name);
}

/** Packets the noise rules dropped so far (the statistic rules' counters). */
export function noiseLossCount(): number {
  const out = nsTryRun('censor', 'iptables', ['-w', '-L', 'LAB', '-v', '-x', '-n']).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes('lab-noise-loss'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0] ?? 0), 0);
}
