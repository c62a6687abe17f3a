import type { Clock } from "../clock";
import { ClientAbortedError, UpstreamTimeoutError } from "./gateway-errors";

/**
 * One gateway call's abort signal: it fires when the upstream deadline passes or the sandbox's
 * client goes away, and remembers which, so the caller can answer 504 for one and stay silent for
 * the other. Streams re-arm it per chunk: the limit then bounds silence, not a long answer.
 */
export class CallControl {
  private readonly controller = new AbortController();
  private timer: { cancel(): void } | undefined;
  private deadlineAt = 0;
  timedOut = false;
  clientGone = false;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts (or restarts) the deadline from now. */
  arm(): void {
    this.timer?.cancel();
    this.deadlineAt = this.clock.now().getTime() + this.timeoutMs;
    this.timer = this.clock.setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new UpstreamTimeoutError(this.timeoutMs));
    }, this.timeoutMs);
  }

  remainingMs(): number {
    return Math.max(0, this.deadlineAt - this.clock.now().getTime());
  }

  clientClosed(): void {
    if (this.controller.signal.aborted) return;
    this.clientGone = true;
    this.controller.abort(new ClientAbortedError());
  }

  /** The typed reason this call was aborted, if it was. */
  abortReason(): UpstreamTimeoutError | ClientAbortedError | undefined {
    if (this.timedOut) return new UpstreamTimeoutError(this.timeoutMs);
    if (this.clientGone) return new ClientAbortedError();
    return undefined;
  }

  done(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
