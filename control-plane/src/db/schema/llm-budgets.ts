import { doublePrecision, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "./users";

/** A user's monthly LLM budget when the operator overrides LLM_MONTHLY_BUDGET_USD for them. */
export const llmBudgets = pgTable("llm_budgets", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  monthlyUsd: doublePrecision("monthly_usd").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
export type LlmBudget = typeof llmBudgets.$inferSelect;
