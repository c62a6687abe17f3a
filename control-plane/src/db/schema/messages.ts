import { sql } from "drizzle-orm";
import { boolean, index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
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
    /**
     * A WhatsApp reply waiting for the user's 24-hour window to open again (see
     * channels/whatsapp/held-messages.ts): status "held", or "failed" with the code "held" (the
     * adapter's HELD_CODE) when the outbox recorded the refusal. Computed by PostgreSQL, so it can
     * never disagree with the status. Its own column, not an index predicate on `status`, because
     * a partial index over `status` would make every delivery status update (sent, delivered,
     * read) a non-HOT update; this column changes only when a message is held or released.
     */
    held: boolean("held")
      .notNull()
      .generatedAlwaysAs(sql`channel = 'whatsapp' AND direction = 'out' AND (status = 'held' OR (status = 'failed' AND error_code IS NOT DISTINCT FROM 'held'))`),
  },
  (t) => [
    uniqueIndex("messages_channel_provider_id_key").on(t.channel, t.providerId),
    index("messages_user_created_idx").on(t.userId, t.createdAt),
    // Finding a user's held messages reads only those (almost always none), not their history.
    index("messages_held_idx").on(t.userId, t.createdAt).where(sql`held`),
  ],
);
export type Message = typeof messages.$inferSelect;
