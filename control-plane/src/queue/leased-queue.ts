import { sql, type SQL } from "drizzle-orm";
import { rows, type Executor } from "../db/database";

/**
 * A table worked as a leased queue: rows go pending -> running (under a lease) -> done, or back to
 * pending with a retry time, or dead. Both the inbox and the outbox are one: they differ only in
 * their status names, which rows count as a queue's head, and what a claim reads beside the row.
 */
export interface QueueTable {
  table: "inbox_events" | "outbox";
  running: "processing" | "sending";
  done: "done" | "sent";
  dead: "dead" | "failed";
  /**
   * The head rule on the candidate row `q`: only rows this admits are claimable. The inbox admits
   * the first open event of a user with nothing else in flight; the outbox the first unsent row of
   * a (user, channel).
   */
  head: SQL;
  order: SQL;
}

/**
 * A free slot of this process's worker, promised to a row that another statement writes already
 * leased to it (the outbox's first reply when a turn completes, the inbox event of a webhook): the
 * row then needs no notification and no claim.
 */
export interface Reservation {
  /** The queue whose lease the row is written with (newLeaseToken, leaseExpiry). */
  lease: LeasedQueue;
  /** Hands over the row the statement returned, or nothing; frees the slot either way. Exactly once. */
  take(row: Record<string, unknown> | undefined): void;
}

/**
 * Every statement that moves a queue row, in one place. A claim writes a fresh lease token
 * `<worker id>:<uuid>` on each row; every later statement is guarded by that token and the running
 * status, so an attempt that lost its lease changes nothing. The worker id prefix lets a restarted
 * process take back its previous incarnation's leases at once instead of waiting them out.
 */
export class LeasedQueue {
  private readonly t: SQL;

  constructor(
    private readonly q: QueueTable,
    readonly workerId: string,
    private readonly leaseSeconds: number,
  ) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(workerId)) throw new RangeError("worker id: 1-100 of [A-Za-z0-9_.-]");
    if (!(leaseSeconds > 0)) throw new RangeError("lease must be positive");
    this.t = sql.raw(q.table);
  }

  /**
   * The claim statement: up to `limit` heads, FOR UPDATE SKIP LOCKED so concurrent claimers pass
   * each other by. `filter` narrows the candidates (the outbox's channels with an adapter); `join`
   * adds a table to read in the same round trip, `returning` its columns.
   */
  claimSql(limit: number, extra: { filter?: SQL; from?: SQL; join?: SQL; returning?: SQL } = {}): SQL {
    const { t, q } = this;
    const running = q.running;
    return sql`WITH next AS (
        SELECT q.id FROM ${t} q
        WHERE (q.status = 'pending' OR (q.status = ${running} AND q.lease_expires_at <= now()))
          AND q.next_attempt_at <= now()
          ${extra.filter ? sql`AND ${extra.filter}` : sql``}
          AND ${q.head}
        ORDER BY ${q.order}
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE ${t} SET status = ${running}, attempts = ${t}.attempts + 1,
             lease_token = ${this.newLeaseToken()}, lease_expires_at = ${this.leaseExpiry()}, updated_at = now()
      FROM next ${extra.from ? sql`, ${extra.from}` : sql``}
      WHERE ${t}.id = next.id ${extra.join ? sql`AND ${extra.join}` : sql``}
      RETURNING ${t}.* ${extra.returning ? sql`, ${extra.returning}` : sql``}`;
  }

  /**
   * Refreshes the table's statistics (OpenRowsStatistics says when). SKIP_LOCKED: if autovacuum
   * holds the table, it is doing the same and we do not wait.
   */
  async analyze(db: Executor): Promise<void> {
    await db.execute(sql`ANALYZE (SKIP_LOCKED) ${this.t}`);
  }

  /** A fresh lease token of this worker, as SQL: for a claim, or for a row inserted already claimed. */
  newLeaseToken(): SQL {
    return sql`(${this.workerId} || ':' || gen_random_uuid()::text)`;
  }

  /** When a lease taken or renewed now expires, as SQL. */
  leaseExpiry(): SQL {
    return sql`(now() + make_interval(secs => ${this.leaseSeconds}))`;
  }

  /**
   * Planned on every run, never a named statement: the right plan (the open-rows index in order, or
   * a scan and a sort) depends on the backlog, and a generic plan cached while the table was young
   * scanned and sorted every open row on each claim (CI's 10,000-event burst: 75-200 ms a claim).
   */
  async claim(db: Executor, limit: number, extra?: Parameters<LeasedQueue["claimSql"]>[1]): Promise<Record<string, unknown>[]> {
    return rows(db, this.claimSql(limit, extra));
  }

  /**
   * One statement renews the leases of every token given; returns the tokens still held.
   *
   * Every statement here that waits for several rows' locks (this one, reclaimOwn) takes them in
   * id order: two such statements on overlapping rows in different orders deadlock, and
   * PostgreSQL aborts one of them (a renewal beside a batch of sends recorded together once did).
   * Completions lock their one row; the claim skips locked rows and never waits.
   */
  async renew(db: Executor, jobs: readonly { id: string; leaseToken: string }[]): Promise<Set<string>> {
    if (jobs.length === 0) return new Set();
    // By id (the primary key): a lease token has no index, and a scan for it would read every
    // finished row the retention period keeps. Tokens are unique per claim, so a row whose id is
    // given and whose token is one of those given is that job's.
    const r = await rows<{ lease_token: string }>(
      db,
      this.updateInIdOrder(
        sql`lease_expires_at = ${this.leaseExpiry()}`,
        sql`x.id = ANY(string_to_array(${jobs.map((j) => j.id).join(",")}, ','))
            AND x.lease_token = ANY(string_to_array(${jobs.map((j) => j.leaseToken).join(",")}, ','))
            AND x.status = ${this.q.running}`,
        sql`lease_token`,
      ),
    );
    return new Set(r.map((x) => x.lease_token));
  }

  /**
   * A statement (usable as a CTE) that finishes a row, guarded by its token; `set` adds columns.
   * It returns the row's id (and `returning`), or nothing when the lease was lost.
   */
  completeSql(id: string, token: string, set: SQL, returning: SQL = sql`id`): SQL {
    return sql`UPDATE ${this.t} SET ${this.doneSet(set)}
               WHERE id = ${id} AND lease_token = ${token} AND status = ${this.q.running} RETURNING ${returning}`;
  }

  private doneSet(set: SQL): SQL {
    return sql`status = ${this.q.done}, updated_at = now(), last_error = NULL, lease_token = NULL, lease_expires_at = NULL, ${set}`;
  }

  /** Back to pending after `delayMs`, or dead; returns whether we still held the row. */
  async fail(db: Executor, id: string, token: string, o: { dead: boolean; delayMs: number; error: string; set?: SQL }): Promise<boolean> {
    const r = await rows(
      db,
      sql`UPDATE ${this.t} SET status = ${o.dead ? this.q.dead : "pending"}, last_error = ${o.error.slice(0, 2000)}, updated_at = now(),
             lease_token = NULL, lease_expires_at = NULL,
             next_attempt_at = now() + make_interval(secs => ${o.delayMs / 1000}) ${o.set ? sql`, ${o.set}` : sql``}
          WHERE id = ${id} AND lease_token = ${token} AND status = ${this.q.running} RETURNING id`,
      `${this.q.table}.fail`,
    );
    return r.length > 0;
  }

  /** Gives a row back without counting the attempt (we stopped; it was not the row's fault). */
  async release(db: Executor, id: string, token: string): Promise<void> {
    await rows(
      db,
      sql`UPDATE ${this.t} SET status = 'pending', attempts = GREATEST(${this.t}.attempts - 1, 0),
             lease_token = NULL, lease_expires_at = NULL, updated_at = now()
          WHERE id = ${id} AND lease_token = ${token} AND status = ${this.q.running}`,
      `${this.q.table}.release`,
    );
  }

  /**
   * At start-up: leases still held under our worker id belong to our previous incarnation, which
   * is dead (we are it, restarted). Expire them so they are claimable now, not after the lease.
   */
  async reclaimOwn(db: Executor): Promise<number> {
    const r = await rows(
      db,
      this.updateInIdOrder(sql`lease_expires_at = now(), updated_at = now()`, sql`x.status = ${this.q.running} AND starts_with(x.lease_token, ${`${this.workerId}:`})`, sql`id`),
    );
    return r.length;
  }

  /** UPDATE of the rows `x` that `where` admits, their locks taken in id order (see renew). */
  private updateInIdOrder(set: SQL, where: SQL, returning: SQL): SQL {
    return sql`UPDATE ${this.t} SET ${set}
               FROM (SELECT x.id FROM ${this.t} x WHERE ${where} ORDER BY x.id FOR UPDATE OF x) AS l
               WHERE ${this.t}.id = l.id RETURNING ${this.t}.${returning}`;
  }
}
