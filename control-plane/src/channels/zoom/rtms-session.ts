import { backoffDelay, type RetryPolicy } from "../../retry";
import { RtmsConnection, type RtmsConnectionOptions } from "./rtms-connection";

/** Each connection's options but its URL (the session picks it from serverUrls). */
export interface RtmsSessionOptions extends Omit<RtmsConnectionOptions, "signalingUrl"> {
  serverUrls: string;
  /** attempts: consecutive failed connects before giving up; delays between them (full jitter). */
  retry: RetryPolicy;
  /** Asked before every reconnect: false when the stream is over or another process holds it. */
  mayReconnect: () => Promise<boolean>;
}

/**
 * Keeps one RTMS stream connected for as long as it should be: connects, and when either socket
 * drops (Zoom's rtms_interrupted, a network blip, a server restart) connects again with backoff.
 * Zoom does not reconnect for us and gives the media socket about 30 s to come back.
 */
export class RtmsSession {
  /** Connections opened so far (the first one included). */
  connects = 0;
  private current: RtmsConnection | null = null;
  private stopped = false;
  private sleeping: { cancel(): void; resolve(): void } | null = null;
  private running: Promise<string> | null = null;

  constructor(private readonly o: RtmsSessionOptions) {}

  /** Starts the loop; resolves with why it ended (stopped, refused, gave up). */
  run(): Promise<string> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Drops the current connection so the loop reconnects now (rtms_interrupted). */
  interrupt(): void {
    this.current?.close("interrupted");
    this.sleeping?.resolve();
  }

  /** Closes the sockets for good; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.close("stopped");
    this.sleeping?.resolve();
    await this.running;
  }

  get connected(): boolean {
    return this.current?.isReady ?? false;
  }

  private async loop(): Promise<string> {
    const { o } = this;
    let failures = 0;
    while (!this.stopped) {
      if (this.connects > 0 && !(await o.mayReconnect().catch(() => true))) return "no longer ours";
      if (this.stopped) break;
      this.connects++;
      const conn = new RtmsConnection({ ...o, signalingUrl: o.serverUrls });
      this.current = conn;
      conn.open();
      const end = await conn.ended;
      this.current = null;
      if (this.stopped) break;
      failures = end.ready ? 0 : failures + 1;
      if (end.refused) {
        o.log.error({ reason: end.reason }, "rtms refused the stream; not reconnecting");
        return "refused";
      }
      if (failures >= o.retry.attempts) {
        o.log.error({ reason: end.reason, failures }, "rtms stream could not be reconnected; giving up");
        return "gave up";
      }
      const delay = backoffDelay(o.retry, failures + 1);
      o.log.warn({ reason: end.reason, delayMs: delay, connects: this.connects }, "rtms connection lost; reconnecting");
      await this.sleep(delay);
    }
    return "stopped";
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimeout(() => done(), ms);
      const done = () => {
        timer.cancel();
        this.sleeping = null;
        resolve();
      };
      this.sleeping = { cancel: () => timer.cancel(), resolve: done };
    });
  }
}
