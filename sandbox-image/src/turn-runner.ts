import type { MethodName } from "@concierge/protocol";
import type { Logger } from "pino";
import { AgentError } from "./agent-error";
import type { IdempotencyStore } from "./db/idempotency-store";
import type { Db } from "./db/open-database";
import { Mutex } from "./mutex";

/**
 * Runs the agent's mutating methods one at a time, each in one SQLite transaction with its
 * idempotency record, so a crash leaves either the effects and the key, or neither. A repeated key
 * returns the stored result without running anything (and without calling the model).
 */
export class TurnRunner {
  private readonly mutex = new Mutex();
  // The time a turn runs "at": a request may carry its own (sentAt, now) so queued work is judged
  // by when it happened, not by when the sandbox woke up.
  private turnNow: Date | null = null;

  constructor(
    private readonly db: Db,
    private readonly idempotency: IdempotencyStore,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /** The running turn's time, or the clock's between turns. */
  now(): Date {
    return this.turnNow ?? this.clock();
  }

  async run<T>(method: MethodName, key: string | undefined, at: string | undefined, fn: () => Promise<T>): Promise<T> {
    const early = this.replay<T>(method, key);
    if (early !== undefined) return early;
    return this.mutex.run(async () => {
      const again = this.replay<T>(method, key);
      if (again !== undefined) return again;
      this.turnNow = at ? new Date(at) : null;
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn();
        if (key) this.idempotency.put(key, method, result, this.clock());
        this.db.exec("COMMIT");
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw err;
      } finally {
        this.turnNow = null;
      }
    });
  }

  private replay<T>(method: MethodName, key: string | undefined): T | undefined {
    if (!key) return undefined;
    const stored = this.idempotency.get(key);
    if (!stored) return undefined;
    if (stored.method !== method) throw new AgentError("bad_request", `idempotency key was already used for ${stored.method}`);
    this.log.debug({ method }, "replaying stored result for a repeated idempotency key");
    return stored.result as T;
  }
}
