import type { Clock } from "../clock";
import type { Logger } from "../logger";

/**
 * Runs a task every intervalMs on the injected clock, never two at once; stop() waits for the one
 * in progress. Tests call the task directly instead of waiting.
 */
export class Periodic {
  private timer: { cancel(): void } | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(opts: { immediately?: boolean } = {}): void {
    this.stopped = false;
    this.schedule(opts.immediately ? 0 : this.intervalMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.running = this.task()
        .then(() => undefined)
        .catch((err) => this.log.error({ err, task: this.name }, "periodic task failed"))
        .finally(() => {
          this.running = null;
          this.schedule(this.intervalMs);
        });
    }, ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running;
  }
}
