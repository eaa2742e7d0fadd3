// A phase of a probe bounded by a deadline and by its parent's signal,
// cleaned up whichever way it ends: startPhase gives the phase a signal of
// its own; withPhase and withDeadline run work under one.
import { setMaxListeners } from 'node:events';
import { DeadlineError } from './failure.js';

/**
 * Listeners a phase's signal may hold before Node warns of a leak. A probe
 * runs its steps at once on the signal it is given (a messaging app's 16
 * connects, a host's every address), and each step listens while it runs:
 * Node's default of 10 printed "MaxListenersExceededWarning" on stderr in an
 * ordinary sweep of the bundled list. Each step takes its listener off as it
 * settles, so the count is bounded by what runs at once; a limit well above
 * that still reports a true leak.
 */
export const PHASE_SIGNAL_LISTENERS = 128;

function phaseController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(PHASE_SIGNAL_LISTENERS, controller.signal);
  return controller;
}

/**
 * One bounded phase: a signal that aborts (with a DeadlineError) after `ms`
 * or when `parent` aborts. `dispose()` clears the timer and the listener, so
 * nothing is left behind whichever way the phase ends.
 */
export interface Phase {
  signal: AbortSignal;
  dispose(): void;
}

// Phases started under one parent share one listener on it. The sweep
// starts a phase per probe under its own signal (thousands a sweep, 200 at a
// time), and EventTarget's add/removeEventListener cost more than the rest of
// a phase; a Set entry costs next to nothing. A parent's children abort in
// the order they started, as their own listeners would have.
interface PhaseEntry {
  /** Ends the phase with `reason` (the parent's, or its deadline's); a second call does nothing. */
  abort(reason: unknown): void;
}

/** The live phases under one parent, and the one listener they share on it. */
interface PhaseGroup {
  children: Set<PhaseEntry>;
  onParentAbort: () => void;
}

const phasesByParent = new WeakMap<AbortSignal, PhaseGroup>();

function joinGroup(parent: AbortSignal, entry: PhaseEntry): PhaseGroup {
  let group = phasesByParent.get(parent);
  if (group === undefined) {
    const children = new Set<PhaseEntry>();
    const onParentAbort = () => {
      phasesByParent.delete(parent);
      const started = [...children];
      children.clear();
      for (const child of started) child.abort(parent.reason);
    };
    group = { children, onParentAbort };
    phasesByParent.set(parent, group);
    parent.addEventListener('abort', onParentAbort, { once: true });
  }
  group.children.add(entry);
  return group;
}

// The last phase out takes the listener off: a long-lived parent (the daemon's signal) keeps nothing.
function leaveGroup(parent: AbortSignal, group: PhaseGroup, entry: PhaseEntry): void {
  if (!group.children.delete(entry) || group.children.size > 0) return;
  parent.removeEventListener('abort', group.onParentAbort);
  if (phasesByParent.get(parent) === group) phasesByParent.delete(parent);
}

/** A deadline of `ms` under `parent`: `entry.abort` is called on whichever comes first. Returns its disposal. */
function armDeadline(parent: AbortSignal, ms: number, what: string, entry: PhaseEntry): () => void {
  if (parent.aborted) {
    entry.abort(parent.reason);
    return () => {};
  }
  const group = joinGroup(parent, entry);
  const timer = setTimeout(() => entry.abort(new DeadlineError(what)), Math.max(0, ms));
  return () => {
    clearTimeout(timer);
    leaveGroup(parent, group, entry);
  };
}

export function startPhase(parent: AbortSignal, ms: number, what = 'phase'): Phase {
  const controller = phaseController();
  const dispose = armDeadline(parent, ms, what, {
    abort(reason) {
      if (!controller.signal.aborted) controller.abort(reason);
    },
  });
  return { signal: controller.signal, dispose };
}

/** Runs `work` under a phase deadline; the phase is disposed when it settles. */
export function withPhase<T>(parent: AbortSignal, ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = phaseController();
  return settleWithin(parent, ms, what, controller, () => work(controller.signal));
}

/**
 * Settles as `work()` does, unless `ms` pass or `parent` aborts first: then
 * rejects with a DeadlineError naming `what`, or the parent's reason. For
 * work that takes no signal (getaddrinfo): no AbortController is made.
 */
export function withDeadline<T>(parent: AbortSignal, ms: number, what: string, work: () => Promise<T>): Promise<T> {
  return settleWithin(parent, ms, what, null, work);
}

// withPhase and withDeadline: on the deadline or the parent's abort, the
// phase's controller (if any) aborts first, so the work hears of it, and the
// promise rejects at once whatever the work does (raceAbort, without a listener).
function settleWithin<T>(parent: AbortSignal, ms: number, what: string, controller: AbortController | null, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let dispose: (() => void) | null = null;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      dispose?.();
      return true;
    };
    dispose = armDeadline(parent, ms, what, {
      abort(reason) {
        if (controller && !controller.signal.aborted) controller.abort(reason);
        if (settle()) reject(reason);
      },
    });
    if (settled) return;
    let pending: Promise<T>;
    try {
      pending = work();
    } catch (err) {
      if (settle()) reject(err);
      return;
    }
    pending.then(
      (value) => {
        if (settle()) resolve(value);
      },
      (err) => {
        if (settle()) reject(err);
      },
    );
  });
}

/** Rejects with the signal's reason as soon as it aborts, whatever `promise` does. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

