import type { Clock } from "../../clock";

export interface TranscriptLine {
  speaker: string;
  text: string;
  ts: string;
}

export interface BatcherOptions {
  /** A batch is sent once it holds this many lines... */
  maxLines: number;
  /** ...or this long after its first line arrived, whichever comes first. */
  maxWaitMs: number;
  clock: Clock;
  /** Writes one batch; batches are handed over one at a time, in order. */
  send: (lines: TranscriptLine[]) => Promise<void>;
  onError: (err: unknown, lines: TranscriptLine[]) => void;
}

/**
 * Groups live transcript lines so the agent gets a meeting.event every few seconds rather than one
 * per utterance. Sends are chained, so batches reach the inbox in the order the lines arrived,
 * even when a timer flush and a size flush overlap.
 */
export class TranscriptBatcher {
  private pending: TranscriptLine[] = [];
  private timer: { cancel(): void } | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BatcherOptions) {}

  add(line: TranscriptLine): void {
    this.pending.push(line);
    if (this.pending.length >= this.opts.maxLines) {
      void this.flush();
      return;
    }
    if (!this.timer) this.timer = this.opts.clock.setTimeout(() => void this.flush(), this.opts.maxWaitMs);
  }

  /** Sends what is pending (if anything) after every earlier batch; resolves when all are written. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    const lines = this.pending;
    this.pending = [];
    if (lines.length > 0) {
      this.chain = this.chain.then(() => this.opts.send(lines).catch((err) => this.opts.onError(err, lines)));
    }
    return this.chain;
  }

  get size(): number {
    return this.pending.length;
  }
}
