// A token bucket per webhook destination: `perMinute` tokens at most, refilled
// continuously. Time comes in from the caller so tests drive it.

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly perMinute: number,
    nowMs: number,
  ) {
    if (!Number.isFinite(perMinute) || perMinute <= 0) throw new RangeError(`maxPerMinute must be a positive number, not ${perMinute}`);
    this.tokens = perMinute;
    this.lastMs = nowMs;
  }

  /** Whole tokens available now. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return Math.floor(this.tokens);
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(nowMs: number): void {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.perMinute, this.tokens + (elapsed * this.perMinute) / 60_000);
    this.lastMs = Math.max(this.lastMs, nowMs);
  }
}
