import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, updatedAt, uuidId } from "./columns";
import { userIdColumn } from "./users";

/** Every message that crossed a channel, both ways, with its delivery state. */
export const messages = pgTable(
  "messages",
  {
    id: uuidId(),
    userId: userIdColumn(),
    direction: text("direction").$type<"in" | "out">().notNull(),
    channel: text("channel").notNull(),
    /** The provider's id (a wamid, a call sid); null until an outbound send is accepted. */
    providerId: text("provider_id"),
    content: text("content").notNull(),
    /** in: received; out: queued, sent, delivered, read, played, failed, held. */
    status: text("status").notNull(),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("messages_channel_provider_id_key").on(t.channel, t.providerId),
    index("messages_user_created_idx").on(t.userId, t.createdAt),
  ],
);
export type Message = typeof messages.$inferSelect;
