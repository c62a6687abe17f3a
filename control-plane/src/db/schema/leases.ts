import { pgTable, text } from "drizzle-orm/pg-core";
import { timestamptz, updatedAt } from "./columns";

/**
 * Named leader leases shared by control-plane replicas: the reconciler runs only on the replica
 * holding "reconciler" (sandboxes/leader-lease.ts). A holder that dies stops renewing; the lease
 * expires and another replica takes it over.
 */
export const leases = pgTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: timestamptz("expires_at").notNull(),
  updatedAt: updatedAt(),
});
