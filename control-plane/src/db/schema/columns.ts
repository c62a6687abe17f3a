import { sql } from "drizzle-orm";
import { bigserial, integer, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Column builders the tables share, so a column that means the same thing is declared the same way
 * everywhere. Each call builds a fresh column; the generated SQL is what the inline declarations
 * produced (npm run db:generate finds nothing to migrate).
 */

/** Every timestamp in the schema is timestamptz. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true });
export const createdAt = () => timestamptz("created_at").notNull().defaultNow();
export const updatedAt = () => timestamptz("updated_at").notNull().defaultNow();

/** A text primary key the database fills with a random UUID. */
export const uuidId = () => text("id").primaryKey().default(sql`gen_random_uuid()::text`);

/** Insertion order: breaks ties between rows of one transaction (same created_at). */
export const seq = () => bigserial("seq", { mode: "number" }).notNull();

/**
 * The claim state of a leased queue row (queue/leased-queue.ts): only the holder of the current
 * lease token may complete or fail the row; an expired lease makes it claimable again.
 */
export function leaseColumns<S extends string>(initial: S) {
  return {
    status: text("status").$type<S>().notNull().default(initial),
    attempts: integer("attempts").notNull().default(0),
    /** Set by each claim. */
    leaseToken: text("lease_token"),
    leaseExpiresAt: timestamptz("lease_expires_at"),
    nextAttemptAt: timestamptz("next_attempt_at").notNull().defaultNow(),
  };
}
