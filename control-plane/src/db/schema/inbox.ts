import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, leaseColumns, seq, timestamptz, updatedAt, uuidId } from "./columns";
import { userIdColumn } from "./users";

export const INBOX_STATUSES = ["pending", "processing", "done", "dead"] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Every inbound event, one row each, kept after it is answered so an operator can see what
 * happened, until retention deletes it (QUEUE_RETENTION_DAYS). A user's events run strictly in order: (priority, created_at, seq).
 */
export const inboxEvents = pgTable(
  "inbox_events",
  {
    id: uuidId(),
    seq: seq(),
    userId: userIdColumn(),
    channel: text("channel").notNull(),
    kind: text("kind").notNull(),
    providerId: text("provider_id").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    priority: integer("priority").notNull().default(100),
    ...leaseColumns<InboxStatus>("pending"),
    lastError: text("last_error"),
    result: jsonb("result"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: timestamptz("completed_at"),
  },
  (t) => [
    uniqueIndex("inbox_events_channel_provider_id_key").on(t.channel, t.providerId),
    // The open rows, per user: the claim reads them (a scan of this index, sorted), and the "is
    // this user busy / is this the head" checks read one user's, so neither grows with the history
    // kept for operators. It is the only index of the open rows, on purpose: a second one keyed
    // without user_id (migration 0003 dropped inbox_events_open_idx) was what per-user lookups
    // took, a scan of every open row, whenever the statistics said nothing was open (docs/routing.md).
    index("inbox_events_user_order_idx")
      .on(t.userId, t.priority, t.createdAt, t.seq)
      .where(sql`status IN ('pending', 'processing')`),
    index("inbox_events_user_created_idx").on(t.userId, t.createdAt),
    // One event in flight per user, held by the database: the claim's head rule never makes a
    // second, and a webhook that writes its event already processing (the hand-off) loses a race
    // with another of the same user's as a conflict, not as two turns at once.
    uniqueIndex("inbox_events_one_running_idx").on(t.userId).where(sql`status = 'processing'`),
    // Retention finds old finished rows without scanning the open ones or the whole table.
    index("inbox_events_finished_idx")
      .on(t.completedAt)
      .where(sql`status IN ('done', 'dead')`),
  ],
);
export type InboxEvent = typeof inboxEvents.$inferSelect;
