import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { users } from "./users";

export const INBOX_STATUSES = ["pending", "processing", "done", "dead"] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

/**
 * Every inbound event, one row each, kept after it is answered so an operator can see what
 * happened, until retention deletes it (QUEUE_RETENTION_DAYS). A user's events run strictly in order: (priority, created_at, seq).
 */
export const inboxEvents = pgTable(
  "inbox_events",
  {
    id: text("id").primaryKey().default(sql`gen_random_uuid()::text`),
    /** Insertion order: breaks ties between events of one transaction (same created_at). */
    seq: bigserial("seq", { mode: "number" }).notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    channel: text("channel").notNull(),
    kind: text("kind").notNull(),
    providerId: text("provider_id").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    priority: integer("priority").notNull().default(100),
    status: text("status").$type<InboxStatus>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** Set by each claim; only the holder of the current token may complete or fail the event. */
    leaseToken: text("lease_token"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
    result: jsonb("result"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("inbox_events_channel_provider_id_key").on(t.channel, t.providerId),
    // The claim's "is this user busy / is this the head" check reads only a user's open rows, so
    // its cost does not grow with the history kept for operators.
    index("inbox_events_user_order_idx")
      .on(t.userId, t.priority, t.createdAt, t.seq)
      .where(sql`status IN ('pending', 'processing')`),
    // The dispatcher only ever looks at unfinished rows; this keeps its scan small as history grows.
    index("inbox_events_open_idx")
      .on(t.priority, t.createdAt, t.seq)
      .where(sql`status IN ('pending', 'processing')`),
    index("inbox_events_user_created_idx").on(t.userId, t.createdAt),
    // Retention finds old finished rows without scanning the open ones or the whole table.
    index("inbox_events_finished_idx")
      .on(t.completedAt)
      .where(sql`status IN ('done', 'dead')`),
  ],
);
export type InboxEvent = typeof inboxEvents.$inferSelect;
