import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { users } from "./users";

/** Every message that crossed a channel, both ways, with its delivery state. */
export const messages = pgTable(
  "messages",
  {
    id: text("id").primaryKey().default(sql`gen_random_uuid()::text`),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    direction: text("direction").$type<"in" | "out">().notNull(),
    channel: text("channel").notNull(),
    /** The provider's id (a wamid, a call sid); null until an outbound send is accepted. */
    providerId: text("provider_id"),
    content: text("content").notNull(),
    /** in: received; out: queued, sent, delivered, read, played, failed, held. */
    status: text("status").notNull(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("messages_channel_provider_id_key").on(t.channel, t.providerId),
    index("messages_user_created_idx").on(t.userId, t.createdAt),
  ],
);
export type Message = typeof messages.$inferSelect;
