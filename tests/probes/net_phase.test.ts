// Phases under one parent share one listener on it (the sweep starts one per
// probe under its own signal). Each phase must still abort with the parent's
// reason, in the order the phases started, and a disposed phase must not.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DeadlineError } from '../../probes/failure.js';
import { startPhase, withDeadline, withPhase } from '../../probes/net.js';

describe('startPhase', () => {
  it('aborts every live phase with the parent reason, in start order, and leaves a disposed one alone', () => {
    const parent = new AbortController();
    const order: string[] = [];
    const a = startPhase(parent.signal, 60_000, 'a');
    const b = startPhase(parent.signal, 60_000, 'b');
    const c = startPhase(parent.signal, 60_000, 'c');
    a.signal.addEventListener('abort', () => order.push('a'));
    b.signal.addEventListener('abort', () => order.push('b'));
    c.signal.addEventListener('abort', () => order.push('c'));
    b.dispose();
    const reason = new Error('sweep stopped');
    parent.abort(reason);
    expect(order).toEqual(['a', 'c']);
    expect(a.signal.reason).toBe(reason);
    expect(c.signal.reason).toBe(reason);
    expect(b.signal.aborted).toBe(false);
    a.dispose();
    c.dispose();
  });

  it('a phase started under an aborted parent is aborted at once with its reason', () => {
    const parent = new AbortController();
    parent.abort(new Error('already'));
    const phase = startPhase(parent.signal, 60_000, 'late');
    expect(phase.signal.aborted).toBe(true);
    expect((phase.signal.reason as Error).message).toBe('already');
    phase.dispose();
  });

  it('a phase past its deadline aborts with a DeadlineError naming it, and its siblings go on', async () => {
    const parent = new AbortController();
    const short = startPhase(parent.signal, 1, 'connect');
    const long = startPhase(parent.signal, 60_000, 'read');
    await new Promise<void>((resolve) => short.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(short.signal.reason).toBeInstanceOf(DeadlineError);
    expect(long.signal.aborted).toBe(false);
    short.dispose();
    long.dispose();
  });

  it('phases of one parent do not add a listener each to it', () => {
    const parent = new AbortController();
    let added = 0;
    const add = parent.signal.addEventListener.bind(parent.signal);
    parent.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      add(...args);
    }) as AbortSignal['addEventListener'];
    const phases = Array.from({ length: 50 }, () => startPhase(parent.signal, 60_000));
    expect(added).toBe(1);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    for (const p of phases) p.dispose();
    // The last one out takes the listener off: a long-lived parent keeps nothing.
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    const again = startPhase(parent.signal, 60_000);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    parent.abort(new Error('stop'));
    expect(again.signal.aborted).toBe(true);
    again.dispose();
  });
});

describe('withPhase', () => {
  it('resolves with the work, and rejects with the deadline when the work hangs', async () => {
    const parent = new AbortController();
    await expect(withPhase(parent.signal, 60_000, 'quick', async () => 42)).resolves.toBe(42);
    let seen: AbortSignal | null = null;
    const hung = withPhase(parent.signal, 5, 'resolve', (signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    });
    await expect(hung).rejects.toBeInstanceOf(DeadlineError);
    expect(seen!.aborted).toBe(true);
  });

  it("rejects with the parent's reason when the parent aborts, and with the work's own error", async () => {
    const parent = new AbortController();
    const pending = withPhase(parent.signal, 60_000, 'resolve', () => new Promise<never>(() => {}));
    const reason = new Error('interrupted');
    parent.abort(reason);
    await expect(pending).rejects.toBe(reason);
    const failing = new Error('ENOTFOUND');
    await expect(withPhase(new AbortController().signal, 60_000, 'resolve', () => Promise.reject(failing))).rejects.toBe(failing);
    await expect(
      withPhase(new AbortController().signal, 60_000, 'resolve', () => {
        throw failing;
      }),
    ).rejects.toBe(failing);
  });
});

describe('withDeadline (work without a signal)', () => {
  it('settles as the work does, or rejects with the deadline or the parent reason, and leaves no listener', async () => {
    const parent = new AbortController();
    await expect(withDeadline(parent.signal, 60_000, 'resolve', async () => 'ok')).resolves.toBe('ok');
    const failing = new Error('EAI_AGAIN');
    await expect(withDeadline(parent.signal, 60_000, 'resolve', () => Promise.reject(failing))).rejects.toBe(failing);
    const late = withDeadline(parent.signal, 5, 'resolve', () => new Promise<never>(() => {}));
    await expect(late).rejects.toBeInstanceOf(DeadlineError);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    const waiting = withDeadline(parent.signal, 60_000, 'resolve', () => new Promise<never>(() => {}));
    const reason = new Error('sweep stopped');
    parent.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(withDeadline(parent.signal, 60_000, 'resolve', async () => 'never asked')).rejects.toBe(reason);
  });
});
