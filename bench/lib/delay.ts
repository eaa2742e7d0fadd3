// The benches' userspace latency (this kernel has no netem): callbacks held
// back a fixed time, all cancelled when the world closes. Timers of one
// duration fire in the order they were set, so chunks keep their order.
export class Delay {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly ms: number) {}

  /** Runs `fn` after `ms` (this delay's by default); at once when that is 0. */
  later(fn: () => void, ms = this.ms): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
