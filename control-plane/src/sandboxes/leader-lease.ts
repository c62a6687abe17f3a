import { randomBytes } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { leases } from "../db/schema";
import { systemClock, type Clock } from "../clock";
import type { Logger } from "../logger";

export interface LeaderLeaseOptions {
  db: Db;
  /** The lease's name: one leader per name (e.g. "reconciler"). */
  name: string;
  /** This replica's id; random unless given. */
  holder?: string;
  /** How long a lease lasts unrenewed: a dead holder's lease passes on after this. */
  ttlMs?: number;
  clock?: Clock;
  logger: Logger;
}

/**
 * A leader lease in one PostgreSQL row, for work that must run on one replica at a time (the
 * reconciler). acquire() is one statement: insert the row, or take it over when this replica
 * holds it already (renewal) or it expired; the row comes back only if this replica holds it now.
 * No advisory locks: those belong to a session, and PGlite's single connection and a pool's
 * interchangeable connections would both make them mean the wrong thing.
 */
export class LeaderLease {
  readonly holder: string;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private leading = false;

  constructor(private readonly opts: LeaderLeaseOptions) {
    this.holder = opts.holder ?? randomBytes(8).toString("hex");
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ component: "leader-lease", lease: opts.name });
  }

  /** Takes or renews the lease; true while this replica is the leader. */
  async acquire(): Promise<boolean> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    const won = await this.opts.db
      .insert(leases)
      .values({ name: this.opts.name, holder: this.holder, expiresAt, updatedAt: now })
      .onConflictDoUpdate({
        target: leases.name,
        set: { holder: this.holder, expiresAt, updatedAt: now },
        where: sql`${leases.holder} = ${this.holder} OR ${leases.expiresAt} < ${now}`,
      })
      .returning({ holder: leases.holder });
    const leading = won.length === 1;
    if (leading !== this.leading) this.log.info({ holder: this.holder }, leading ? "became leader" : "lost the lease");
    this.leading = leading;
    return leading;
  }

  /** Gives the lease up (graceful shutdown), so the next replica need not wait for it to expire. */
  async release(): Promise<void> {
    await this.opts.db.delete(leases).where(and(eq(leases.name, this.opts.name), eq(leases.holder, this.holder)));
    this.leading = false;
  }
}
