import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz, createdAt, updatedAt, uuidId } from "./columns";
import { userIdColumn } from "./users";

export const SCHEDULE_KINDS = ["heartbeat", "alarm"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/**
 * Schedules are rows: one heartbeat and at most one alarm per user, unique on (user, kind), so a
 * restart or a second replica that "creates" them again changes nothing. The scheduler claims due
 * rows with FOR UPDATE SKIP LOCKED and, in the same transaction, enqueues the inbox event for the
 * slot and moves next_run_at on.
 */
export const schedules = pgTable(
  "schedules",
  {
    id: uuidId(),
    userId: userIdColumn(),
    kind: text("kind").$type<ScheduleKind>().notNull(),
    /** When it is next due; null: nothing scheduled (an alarm with no pending reminder). */
    nextRunAt: timestamptz("next_run_at"),
    /** Heartbeat only: the agent's last word on when something on its checklist could be due. */
    agentNextDueAt: timestamptz("agent_next_due_at"),
    /** The slot last handed to the inbox, and when (for the operator and for tests). */
    lastSlotAt: timestamptz("last_slot_at"),
    lastClaimedAt: timestamptz("last_claimed_at"),
    claims: integer("claims").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("schedules_user_kind_key").on(t.userId, t.kind), index("schedules_next_run_at_idx").on(t.nextRunAt)],
);
export type Schedule = typeof schedules.$inferSelect;

/**
 * What the assistant said first, per user: the memory behind "never spammy". Heartbeat texts are
 * keyed by a hash of the normalized text (not twice in 24 hours) and counted per local day (the
 * daily cap); reminders by their occurrence (reminder id + due time), so one occurrence never goes
 * out twice but a daily reminder still goes out every day.
 */
export const proactiveSends = pgTable(
  "proactive_sends",
  {
    id: uuidId(),
    userId: userIdColumn(),
    /** heartbeat | reminder | call */
    kind: text("kind").$type<"heartbeat" | "reminder" | "call">().notNull(),
    /** heartbeat: sha256 of the normalized text; reminder and call: "<reminder id>@<due ISO>". */
    dedupeKey: text("dedupe_key").notNull(),
    /** The inbox event that sent it: a retry of that same event is not a duplicate of itself. */
    sourceKey: text("source_key").notNull(),
    /** The user's local calendar day (YYYY-MM-DD) when it was sent: what the daily cap counts. */
    localDay: text("local_day").notNull(),
    sentAt: timestamptz("sent_at").notNull(),
  },
  (t) => [
    index("proactive_sends_user_key_idx").on(t.userId, t.kind, t.dedupeKey, t.sentAt),
    index("proactive_sends_user_day_idx").on(t.userId, t.kind, t.localDay),
  ],
);
export type ProactiveSend = typeof proactiveSends.$inferSelect;
