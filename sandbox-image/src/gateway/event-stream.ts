import { Events, type EventFrame } from "@concierge/protocol";
import type { Logger } from "pino";

type Sink = (frame: EventFrame) => void;

/**
 * The agent's outgoing events. Each gets the next seq (monotonic for the life of the process) and
 * goes to every authenticated connection. Events emitted while nobody is connected (an `alarm.set`
 * at boot, before the control plane has dialled in) are held, up to a bound, and handed to the first
 * connection that authenticates, so the control plane still learns the next alarm.
 */
export class EventStream {
  private seq = 0;
  private readonly pending: EventFrame[] = [];
  private readonly sinks = new Set<Sink>();

  constructor(
    private readonly logger: Logger,
    private readonly maxPending = 100,
  ) {}

  emit(event: string, payload: unknown): void {
    const schema = (Events as Record<string, (typeof Events)[keyof typeof Events] | undefined>)[event];
    if (!schema) {
      this.logger.warn({ event }, "dropping an event the protocol does not define");
      return;
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      this.logger.warn({ event, issues: parsed.error.issues.slice(0, 5) }, "dropping an event whose payload breaks the protocol");
      return;
    }
    const frame: EventFrame = { type: "event", event, payload: parsed.data, seq: this.seq++ };
    if (this.sinks.size === 0) {
      this.pending.push(frame);
      if (this.pending.length > this.maxPending) this.pending.shift();
      return;
    }
    for (const sink of this.sinks) sink(frame);
  }

  /** Adds a connection; it first receives whatever was held while nobody listened. */
  subscribe(sink: Sink): () => void {
    this.sinks.add(sink);
    for (const frame of this.pending.splice(0)) sink(frame);
    return () => void this.sinks.delete(sink);
  }
}
