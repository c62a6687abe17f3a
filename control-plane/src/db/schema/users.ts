import { boolean, index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz, createdAt, uuidId } from "./columns";

export const users = pgTable(
  "users",
  {
    id: uuidId(),
    /** E.164 digits without "+", as WhatsApp's wa_id and Twilio's From carry them. */
    phone: text("phone"),
    waId: text("wa_id"),
    /** Meta's business-scoped user id; preferred over wa_id when present. */
    bsuid: text("bsuid"),
    name: text("name"),
    email: text("email"),
    /** Set only by the operator (PUT /sandbox/users/:userId/zoom): meetings route on it. */
    zoomUserId: text("zoom_user_id"),
    /** scrypt hash of the phone PIN the user set on WhatsApp (docs/voice-trust.md); never the PIN. */
    voicePinHash: text("voice_pin_hash"),
    timezone: text("timezone").notNull().default("UTC"),
    activeHoursStart: text("active_hours_start").notNull().default("07:00"),
    activeHoursEnd: text("active_hours_end").notNull().default("23:00"),
    /** Last message from the user on WhatsApp: opens Meta's 24-hour customer-service window. */
    lastInboundAt: timestamptz("last_inbound_at"),
    /** Meta said this number cannot receive messages (131026). */
    undeliverable: boolean("undeliverable").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("users_phone_key").on(t.phone),
    uniqueIndex("users_wa_id_key").on(t.waId),
    uniqueIndex("users_bsuid_key").on(t.bsuid),
    index("users_email_idx").on(t.email),
    uniqueIndex("users_zoom_user_id_key").on(t.zoomUserId),
  ],
);
/** The owning user, for every table that holds a user's data: their rows go with them. */
export const userIdColumn = () =>
  text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" });
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
