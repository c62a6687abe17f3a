import { EventEmitter } from "node:events";
import type { Clock } from "../../clock";

export interface TurnReply {
  reply: string;
  hangUp: boolean;
}

/**
 * Waits for a turn's reply. The database row is the truth (another replica may have run the turn),
 * so it is polled; a reply recorded in this process also wakes the waiter at once.
 */
export class TurnWaiter {
  private readonly wakeups = new EventEmitter();

  constructor(
    private readonly clock: Clock,
    private readonly pollIntervalMs: number,
  ) {
    this.wakeups.setMaxListeners(0);
  }

  /** Called by the voice_turn handler once a reply is stored. */
  notify(callSid: string, turn: number): void {
    this.wakeups.emit(key(callSid, turn));
  }

  /** Resolves with the reply, or null when `limitMs` passes first. */
  wait(callSid: string, turn: number, limitMs: number, read: () => Promise<TurnReply | null>): Promise<TurnReply | null> {
    return new Promise((resolve, reject) => {
      const k = key(callSid, turn);
      let done = false;
      let reading = false;
      let again = false;
      let poll: { cancel(): void } | undefined;
      const finish = (value: TurnReply | null, err?: unknown) => {
        if (done) return;
        done = true;
        deadline.cancel();
        poll?.cancel();
        this.wakeups.off(k, check);
        if (err) reject(err);
        else resolve(value);
      };
      const check = () => {
        if (done) return;
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        poll?.cancel();
        read().then(
          (r) => {
            reading = false;
            if (r) return finish(r);
            if (again) {
              again = false;
              return check();
            }
            if (!done) poll = this.clock.setTimeout(check, this.pollIntervalMs);
          },
          (err) => {
            reading = false;
            finish(null, err);
          },
        );
      };
      const deadline = this.clock.setTimeout(() => finish(null), limitMs);
      this.wakeups.on(k, check);
      check();
    });
  }
}

function key(callSid: string, turn: number): string {
  return `${callSid}#${turn}`;
}
