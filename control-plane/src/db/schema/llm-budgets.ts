import { doublePrecision, index, pgTable, text } from "drizzle-orm/pg-core";
import { timestamptz, updatedAt, uuidId } from "./columns";
import { users, userIdColumn } from "./users";

/** A user's monthly LLM budget when the operator overrides LLM_MONTHLY_BUDGET_USD for them. */
export const llmBudgets = pgTable("llm_budgets", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  monthlyUsd: doublePrecision("monthly_usd").notNull(),
  updatedAt: updatedAt(),
});
export type LlmBudget = typeof llmBudgets.$inferSelect;

/**
 * The most an LLM call in flight may still cost, held against its user's budget from admission
 * until its usage row is written (then deleted). expires_at bounds what a crashed control plane
 * leaves behind.
 */
export const llmBudgetReservations = pgTable(
  "llm_budget_reservations",
  {
    id: uuidId(),
    userId: userIdColumn(),
    costUsd: doublePrecision("cost_usd").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
  },
  (t) => [index("llm_budget_reservations_user_idx").on(t.userId, t.expiresAt)],
);
