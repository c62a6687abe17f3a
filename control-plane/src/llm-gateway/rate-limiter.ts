import type { Clock } from "../clock";

/**
 * Per-sandbox token bucket: `perMinute` requests of burst, refilled evenly over a minute. It lives
 * in this process's memory, which is exact for one control-plane process; with several replicas
 * each enforces the limit on its own share of traffic (a shared bucket would need the database or
 * Redis and is not worth a round trip per LLM call today).
 */
export class SandboxRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  get limitPerMinute(): number {
    return this.perMinute;
  }

  /** Takes one token; returns 0 when allowed, else the whole seconds until one is available. */
  take(key: string): number {
    const now = this.clock.now().getTime();
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + Math.max(0, now - b.at) * this.refillPerMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(key, b);
      this.prune(now);
      return 0;
    }
    this.buckets.set(key, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / this.refillPerMs / 1000));
  }

  /** Full buckets carry no information; dropping them keeps the map as small as the active set. */
  private prune(now: number): void {
    if (this.buckets.size < 1000) return;
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.refillPerMs >= this.perMinute) this.buckets.delete(k);
    }
  }
}
