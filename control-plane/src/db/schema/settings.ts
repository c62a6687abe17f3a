import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Control-plane state that must be shared by every replica: the signing key pair, for one. */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
