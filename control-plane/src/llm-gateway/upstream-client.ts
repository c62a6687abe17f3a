import type { Clock } from "../clock";
import type { Logger } from "../logger";
import { retry, validateRetryPolicy, type RetryPolicy } from "../retry";
import type { CallControl } from "./call-control";
import { UpstreamUnavailableError } from "./gateway-errors";

/** Retries of a 5xx or a refused connection: bounded in count and, through the deadline, in time. */
export const UPSTREAM_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2_000 };

export interface UpstreamRequest {
  /** Below the provider's base URL, e.g. "/chat/completions". */
  path: string;
  method?: "POST" | "GET";
  /** Called once per attempt; a non-replayable body (a piped upload) gets exactly one attempt. */
  body?: () => unknown;
  replayable: boolean;
  contentType?: string;
  contentLength?: string;
  accept?: string;
}

export interface UpstreamResult {
  response: Response;
  attempts: number;
}

class RetryableStatus extends Error {
  constructor(
    readonly status: number,
    readonly afterMs?: number,
  ) {
    super(`upstream answered ${status}`);
  }
}

class NetworkFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("upstream unreachable");
  }
}

/** Retry-After as milliseconds: OpenAI's retry-after-ms, else retry-after in seconds or as a date. */
export function retryAfterMs(headers: Headers, now: Date): number | undefined {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get("retry-after");
  if (raw === null) return undefined;
  const secs = Number(raw);
  if (raw.trim() !== "" && Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * Talks to the configured OpenAI-compatible provider with the operator's key. Decides only on
 * status codes, before any byte of a body is relayed, so a stream is retried only before its
 * first byte. A 5xx or a refused connection is retried with full-jitter backoff; a 429 whose
 * Retry-After is short is waited out once; anything else is handed back as it came.
 */
export class UpstreamClient {
  private readonly policy: RetryPolicy;

  constructor(
    private readonly opts: {
      baseUrl: string;
      apiKey?: string;
      clock: Clock;
      logger: Logger;
      retryPolicy?: RetryPolicy;
      /** A 429 asking to wait at most this long is retried once; a longer one is passed through. */
      maxRetryAfterMs?: number;
    },
  ) {
    this.policy = validateRetryPolicy(opts.retryPolicy ?? UPSTREAM_RETRY);
  }

  async send(req: UpstreamRequest, control: CallControl): Promise<UpstreamResult> {
    const policy = req.replayable ? this.policy : { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
    const maxRetryAfterMs = Math.min(this.opts.maxRetryAfterMs ?? 2_000, this.policy.maxDelayMs);
    const headers: Record<string, string> = {};
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    if (req.contentType) headers["content-type"] = req.contentType;
    if (req.contentLength) headers["content-length"] = req.contentLength;
    if (req.accept) headers.accept = req.accept;
    const url = `${this.opts.baseUrl}${req.path}`;
    let waited429 = false;

    try {
      return await retry<UpstreamResult>(
        async (attempt) => {
          let response: Response;
          try {
            response = await fetch(url, {
              method: req.method ?? "POST",
              headers,
              body: req.body?.() as never,
              signal: control.signal,
              // Required by Node's fetch for a streamed request body.
              duplex: "half",
            } as RequestInit);
          } catch (err) {
            if (control.signal.aborted) throw err;
            throw new NetworkFailure(err);
          }
          const last = attempt >= policy.attempts;
          if (response.status >= 500 && !last) {
            await response.body?.cancel().catch(() => undefined);
            throw new RetryableStatus(response.status);
          }
          if (response.status === 429 && !last && !waited429) {
            const after = retryAfterMs(response.headers, this.opts.clock.now());
            if (after !== undefined && after <= maxRetryAfterMs && after < control.remainingMs()) {
              waited429 = true;
              await response.body?.cancel().catch(() => undefined);
              throw new RetryableStatus(429, after);
            }
          }
          return { response, attempts: attempt };
        },
        {
          policy,
          clock: this.opts.clock,
          signal: control.signal,
          retryable: (err) => (err instanceof RetryableStatus ? (err.afterMs !== undefined ? { afterMs: err.afterMs } : true) : err instanceof NetworkFailure),
          onRetry: (err, attempt, delayMs) =>
            this.opts.logger.warn({ attempt, delayMs, status: err instanceof RetryableStatus ? err.status : undefined, network: err instanceof NetworkFailure }, "retrying LLM provider call"),
        },
      );
    } catch (err) {
      const reason = control.abortReason();
      if (reason) throw reason;
      if (err instanceof NetworkFailure) {
        this.opts.logger.warn({ err: err.cause }, "LLM provider unreachable");
        throw new UpstreamUnavailableError();
      }
      throw err;
    }
  }
}
