import { sql } from "drizzle-orm";
import { boolean, index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, leaseColumns, seq, timestamptz, updatedAt, uuidId } from "./columns";
import { userIdColumn } from "./users";
import { messages } from "./messages";

export const OUTBOX_STATUSES = ["pending", "sending", "sent", "failed"] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/**
 * Outbound sends, written in the transaction that completes their inbox event. Sent in seq order
 * per (user, channel); the messages row they point at carries the delivery state users see.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: uuidId(),
    seq: seq(),
    userId: userIdColumn(),
    channel: text("channel").notNull(),
    kind: text("kind").$type<"text" | "template">().notNull(),
    body: text("body").notNull(),
    proactive: boolean("proactive").notNull().default(false),
    inboxId: text("inbox_id"),
    meta: jsonb("meta").$type<Record<string, unknown>>(),
    messageId: text("message_id").references(() => messages.id, { onDelete: "set null" }),
    ...leaseColumns<OutboxStatus>("pending"),
    providerId: text("provider_id"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    sentAt: timestamptz("sent_at"),
  },
  (t) => [
    // Only unsent rows matter to the claim and its ordering check; sent history is kept but not
    // scanned. The only index of the unsent rows, for the reason inbox_events_user_order_idx is
    // (migration 0003 dropped outbox_open_idx).
    index("outbox_user_channel_seq_idx")
      .on(t.userId, t.channel, t.seq)
      .where(sql`status IN ('pending', 'sending')`),
    index("outbox_inbox_id_idx").on(t.inboxId),
    index("outbox_finished_idx")
      .on(t.updatedAt)
      .where(sql`status IN ('sent', 'failed')`),
  ],
);
export type OutboxRowRecord = typeof outbox.$inferSelect;
