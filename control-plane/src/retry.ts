import type { Clock } from "./clock";

/** Retry policy is data: validated when work is queued, used by the one retry helper. */
export interface RetryPolicy {
  /** Total attempts, the first one included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

export function validateRetryPolicy(p: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(p.attempts) || p.attempts < 1) throw new RangeError("retry attempts must be a whole number >= 1");
  if (!(p.baseDelayMs >= 0) || !(p.maxDelayMs >= p.baseDelayMs)) throw new RangeError("retry delays must satisfy 0 <= base <= max");
  return p;
}

/** Full jitter: a uniform delay in [0, min(cap, base * 2^(attempt-1))]. `attempt` counts from 1. */
export function backoffDelay(p: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  policy?: RetryPolicy;
  /** Decides whether an error is worth another attempt; returns a delay hint (ms) or true/false. */
  retryable?: (err: unknown) => boolean | { afterMs: number };
  clock?: Clock;
  signal?: AbortSignal;
  random?: () => number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

function sleep(ms: number, clock: Clock | undefined, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      handle.cancel();
      reject(signal?.reason);
    };
    const handle = clock
      ? clock.setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, ms)
      : (() => {
          const t = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          }, ms);
          return { cancel: () => clearTimeout(t) };
        })();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs fn until it succeeds, the policy's attempts are spent, or the error is not retryable. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = validateRetryPolicy(opts.policy ?? DEFAULT_RETRY);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const verdict = opts.retryable ? opts.retryable(err) : true;
      if (verdict === false || attempt >= policy.attempts) throw err;
      const jittered = backoffDelay(policy, attempt, opts.random);
      const delay = typeof verdict === "object" ? Math.min(policy.maxDelayMs, Math.max(verdict.afterMs, jittered)) : jittered;
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.clock, opts.signal);
    }
  }
}
