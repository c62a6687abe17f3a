import { sql, type SQL } from "drizzle-orm";
import { rows, type Database, type Executor, type Tx } from "../db/database";
import type { Clock } from "../clock";
import type { ScheduleKind } from "../db/schema/scheduler";
import { nextHeartbeatSlot, type ActiveHours } from "./active-hours";

/** One schedule row the claim statement handed over, with its user's hours. */
export interface ClaimedSchedule {
  id: string;
  userId: string;
  kind: ScheduleKind;
  /** The due time it was claimed for. */
  slot: Date;
  /** Claims since the agent last gave a fresh answer (alarms back off on this). */
  claims: number;
  /** The time the claim was made by (the database's, unless a clock is injected). */
  now: Date;
  hours: ActiveHours;
}

export interface ScheduleStoreOptions {
  database: Database;
  /**
   * When given, "now" in every query is this clock's time instead of the database's now(): tests
   * move a ManualClock and the database agrees. Production leaves it unset: the database decides.
   */
  queryClock?: Clock;
}

/**
 * The scheduler's SQL. Every statement that asks "what is due" uses nowSql(), so the database
 * clock (or, in tests, the injected one) is the one source of "now".
 */
export class ScheduleStore {
  constructor(private readonly opts: ScheduleStoreOptions) {}

  nowSql(): SQL {
    const c = this.opts.queryClock;
    return c ? sql`${c.now().toISOString()}::timestamptz` : sql`now()`;
  }

  async now(db: Executor = this.opts.database.db): Promise<Date> {
    const [r] = await rows<{ now: string | Date }>(db, sql`SELECT ${this.nowSql()} AS now`);
    return new Date(r!.now);
  }

  /**
   * Claims up to `limit` due schedules in one statement and, in the same transaction, lets
   * `onClaim` enqueue their events and returns each row's next due time. Another replica skips the
   * locked rows; a crash before commit leaves them due.
   */
  async claimDue(limit: number, onClaim: (tx: Tx, claimed: ClaimedSchedule) => Promise<Date | null>): Promise<ClaimedSchedule[]> {
    const now = this.nowSql();
    return this.opts.database.db.transaction(async (tx) => {
      const claimed = await rows<{
        id: string;
        user_id: string;
        kind: ScheduleKind;
        slot: string | Date;
        claims: number;
        db_now: string | Date;
        timezone: string;
        active_hours_start: string;
        active_hours_end: string;
      }>(
        tx,
        sql`UPDATE schedules s
               SET claims = s.claims + 1, last_claimed_at = ${now}, last_slot_at = s.next_run_at, updated_at = ${now}
              FROM users u
             WHERE u.id = s.user_id
               AND s.id IN (SELECT id FROM schedules
                             WHERE next_run_at IS NOT NULL AND next_run_at <= ${now}
                             ORDER BY next_run_at
                             LIMIT ${limit}
                             FOR UPDATE SKIP LOCKED)
         RETURNING s.id, s.user_id, s.kind, s.next_run_at AS slot, s.claims, ${now} AS db_now,
                   u.timezone, u.active_hours_start, u.active_hours_end`,
      );
      const out: ClaimedSchedule[] = [];
      for (const r of claimed) {
        const c: ClaimedSchedule = {
          id: r.id,
          userId: r.user_id,
          kind: r.kind,
          slot: new Date(r.slot),
          claims: Number(r.claims),
          now: new Date(r.db_now),
          hours: { timezone: r.timezone, start: r.active_hours_start, end: r.active_hours_end },
        };
        const next = await onClaim(tx, c);
        await tx.execute(sql`UPDATE schedules SET next_run_at = ${next ? next.toISOString() : null}::timestamptz WHERE id = ${c.id}`);
        out.push(c);
      }
      return out;
    });
  }

  /** The earliest next_run_at, so the loop can arm an exact timer for it. */
  async earliestNextRun(): Promise<Date | null> {
    const [r] = await rows<{ at: string | Date | null }>(this.opts.database.db, sql`SELECT min(next_run_at) AS at FROM schedules`);
    return r?.at ? new Date(r.at) : null;
  }

  /**
   * Creates the missing heartbeat schedules of users who have a sandbox. Idempotent by
   * (user, kind): replicas racing here insert each row once.
   */
  async ensureHeartbeats(intervalMinutes: number, limit = 500): Promise<number> {
    const db = this.opts.database.db;
    const missing = await rows<{ id: string; timezone: string; active_hours_start: string; active_hours_end: string }>(
      db,
      sql`SELECT u.id, u.timezone, u.active_hours_start, u.active_hours_end FROM users u
           WHERE EXISTS (SELECT 1 FROM sandboxes b WHERE b.user_id = u.id AND b.state <> 'deleted')
             AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.user_id = u.id AND s.kind = 'heartbeat')
           LIMIT ${limit}`,
    );
    if (missing.length === 0) return 0;
    const now = await this.now();
    let created = 0;
    for (const u of missing) {
      const next = nextHeartbeatSlot(now, { timezone: u.timezone, start: u.active_hours_start, end: u.active_hours_end }, intervalMinutes);
      const r = await rows(
        db,
        sql`INSERT INTO schedules (user_id, kind, next_run_at) VALUES (${u.id}, 'heartbeat', ${next?.toISOString() ?? null}::timestamptz)
            ON CONFLICT (user_id, kind) DO NOTHING RETURNING id`,
      );
      created += r.length;
    }
    return created;
  }

  /** Recomputes a user's next heartbeat from their current hours (after a profile change). */
  async rescheduleHeartbeat(userId: string, intervalMinutes: number, db: Executor = this.opts.database.db): Promise<Date | null> {
    const [u] = await rows<{ timezone: string; active_hours_start: string; active_hours_end: string }>(
      db,
      sql`SELECT timezone, active_hours_start, active_hours_end FROM users WHERE id = ${userId}`,
    );
    if (!u) return null;
    const now = await this.now(db);
    const next = nextHeartbeatSlot(now, { timezone: u.timezone, start: u.active_hours_start, end: u.active_hours_end }, intervalMinutes);
    await db.execute(
      sql`INSERT INTO schedules (user_id, kind, next_run_at) VALUES (${userId}, 'heartbeat', ${next?.toISOString() ?? null}::timestamptz)
          ON CONFLICT (user_id, kind) DO UPDATE SET next_run_at = excluded.next_run_at, updated_at = ${this.nowSql()}`,
    );
    return next;
  }

  /** Stores the agent's next due reminder (alarm.set, or alarm.fire's nextAt); null clears it. */
  async setAlarm(userId: string, at: Date | null, db: Executor = this.opts.database.db): Promise<void> {
    await db.execute(
      sql`INSERT INTO schedules (user_id, kind, next_run_at) VALUES (${userId}, 'alarm', ${at ? at.toISOString() : null}::timestamptz)
          ON CONFLICT (user_id, kind) DO UPDATE SET next_run_at = excluded.next_run_at, claims = 0, updated_at = ${this.nowSql()}`,
    );
  }

  /** Remembers heartbeat.run's nextDueAt: whether a stopped sandbox deserves a wake-up. */
  async recordHeartbeatReport(userId: string, nextDueAt: Date | null): Promise<void> {
    await this.opts.database.db.execute(
      sql`UPDATE schedules SET agent_next_due_at = ${nextDueAt ? nextDueAt.toISOString() : null}::timestamptz, claims = 0, updated_at = ${this.nowSql()}
           WHERE user_id = ${userId} AND kind = 'heartbeat'`,
    );
  }

  async get(userId: string, kind: ScheduleKind): Promise<{ nextRunAt: Date | null; agentNextDueAt: Date | null; claims: number } | null> {
    const [r] = await rows<{ next_run_at: string | Date | null; agent_next_due_at: string | Date | null; claims: number }>(
      this.opts.database.db,
      sql`SELECT next_run_at, agent_next_due_at, claims FROM schedules WHERE user_id = ${userId} AND kind = ${kind}`,
    );
    if (!r) return null;
    return {
      nextRunAt: r.next_run_at ? new Date(r.next_run_at) : null,
      agentNextDueAt: r.agent_next_due_at ? new Date(r.agent_next_due_at) : null,
      claims: Number(r.claims),
    };
  }
}
