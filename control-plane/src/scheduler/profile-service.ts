import { sql } from "drizzle-orm";
import { AlarmSetEvent, ProfileUpdatedEvent } from "@concierge/protocol";
import { rows, type Database } from "../db/database";
import { BadRequestError, UserNotFoundError } from "../errors";
import type { Logger } from "../logger";
import { isValidEnd, isValidStart, isValidTimezone } from "./active-hours";
import type { ScheduleStore } from "./schedule-store";

export interface ProfileChange {
  timezone?: string;
  activeHoursStart?: string;
  activeHoursEnd?: string;
}

export interface Profile {
  userId: string;
  timezone: string;
  activeHoursStart: string;
  activeHoursEnd: string;
  nextHeartbeatAt: string | null;
}

export interface ProfileServiceOptions {
  database: Database;
  store: ScheduleStore;
  logger: Logger;
  heartbeatIntervalMinutes: number;
  /** Told when a schedule moved, so the scheduler re-arms its exact timer. */
  onScheduleChanged?: () => void;
}

/**
 * The user's time zone and active hours, which decide when heartbeats run. They arrive from the
 * agent's profile tool (profile.updated) and from the admin API; either way the heartbeat
 * schedule is recomputed at once.
 */
export class ProfileService {
  private readonly log: Logger;

  constructor(private readonly opts: ProfileServiceOptions) {
    this.log = opts.logger.child({ component: "scheduler-profile" });
  }

  /** Validates and applies a change; throws BadRequestError naming each bad field. */
  async update(userId: string, change: ProfileChange): Promise<Profile> {
    const problems: string[] = [];
    if (change.timezone !== undefined && !isValidTimezone(change.timezone)) problems.push("timezone must be an IANA time zone like Europe/Berlin");
    if (change.activeHoursStart !== undefined && !isValidStart(change.activeHoursStart)) problems.push("activeHoursStart must look like 07:00");
    if (change.activeHoursEnd !== undefined && !isValidEnd(change.activeHoursEnd)) problems.push("activeHoursEnd must look like 23:00");
    if (problems.length > 0) throw new BadRequestError(problems.join("; "), { problems });

    const { database, store } = this.opts;
    const profile = await database.db.transaction(async (tx) => {
      const [u] = await rows<{ timezone: string; active_hours_start: string; active_hours_end: string }>(
        tx,
        sql`UPDATE users SET
              timezone = COALESCE(${change.timezone ?? null}, timezone),
              active_hours_start = COALESCE(${change.activeHoursStart ?? null}, active_hours_start),
              active_hours_end = COALESCE(${change.activeHoursEnd ?? null}, active_hours_end)
            WHERE id = ${userId}
            RETURNING timezone, active_hours_start, active_hours_end`,
      );
      if (!u) throw new UserNotFoundError(userId);
      const next = await store.rescheduleHeartbeat(userId, this.opts.heartbeatIntervalMinutes, tx);
      return {
        userId,
        timezone: u.timezone,
        activeHoursStart: u.active_hours_start,
        activeHoursEnd: u.active_hours_end,
        nextHeartbeatAt: next ? next.toISOString() : null,
      };
    });
    this.opts.onScheduleChanged?.();
    return profile;
  }

  async get(userId: string): Promise<Profile> {
    const [u] = await rows<{ timezone: string; active_hours_start: string; active_hours_end: string; next_run_at: string | Date | null }>(
      this.opts.database.db,
      sql`SELECT u.timezone, u.active_hours_start, u.active_hours_end, s.next_run_at
            FROM users u LEFT JOIN schedules s ON s.user_id = u.id AND s.kind = 'heartbeat'
           WHERE u.id = ${userId}`,
    );
    if (!u) throw new UserNotFoundError(userId);
    return {
      userId,
      timezone: u.timezone,
      activeHoursStart: u.active_hours_start,
      activeHoursEnd: u.active_hours_end,
      nextHeartbeatAt: u.next_run_at ? new Date(u.next_run_at).toISOString() : null,
    };
  }

  /**
   * A ConnectionManager event listener: mirrors alarm.set and profile.updated into the schedules.
   * Errors are logged, never thrown: an agent's bad event must not break the connection.
   */
  readonly onAgentEvent = (sandboxId: string, event: string, payload: unknown): void => {
    if (event !== "alarm.set" && event !== "profile.updated") return;
    void this.handleAgentEvent(sandboxId, event, payload).catch((err) =>
      this.log.warn({ err, sandboxId, event }, "could not apply an agent event"),
    );
  };

  async handleAgentEvent(sandboxId: string, event: "alarm.set" | "profile.updated", payload: unknown): Promise<void> {
    const [owner] = await rows<{ user_id: string }>(this.opts.database.db, sql`SELECT user_id FROM sandboxes WHERE id = ${sandboxId}`);
    if (!owner) return;
    if (event === "alarm.set") {
      const { at } = AlarmSetEvent.parse(payload);
      await this.opts.store.setAlarm(owner.user_id, at ? new Date(at) : null);
      this.opts.onScheduleChanged?.();
      return;
    }
    const p = ProfileUpdatedEvent.parse(payload);
    if (p.timezone === undefined && p.activeHours === undefined) return;
    await this.update(owner.user_id, { timezone: p.timezone, activeHoursStart: p.activeHours?.start, activeHoursEnd: p.activeHours?.end });
  }
}
