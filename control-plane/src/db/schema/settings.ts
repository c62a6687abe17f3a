import { pgTable, text } from "drizzle-orm/pg-core";
import { updatedAt } from "./columns";

/** Control-plane state that must be shared by every replica: the signing key pair, for one. */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: updatedAt(),
});
