import { eq } from "drizzle-orm";
import type { Clock } from "../clock";
import type { Db } from "../db/database";
import { llmBudgets, users } from "../db/schema";
import { UserNotFoundError } from "../errors";
import { monthOf } from "./period";
import { spentUsd } from "./usage-store";

export interface BudgetStatus {
  userId: string;
  monthlyUsd: number;
  /** "override" when the operator set this user's budget, else "default" (LLM_MONTHLY_BUDGET_USD). */
  source: "override" | "default";
  spentUsd: number;
  remainingUsd: number;
  overBudget: boolean;
  periodStart: string;
  periodEnd: string;
}

/**
 * Monthly (calendar month, UTC) LLM budgets. Spending is summed from llm_usage on each check
 * rather than kept in a counter: one indexed query per LLM call is cheap next to the call, it is
 * right across replicas, and the budget resets by itself when the clock enters a new month.
 * Calls already in flight when the budget runs out still finish, so a user can overshoot by at
 * most what their concurrent calls cost.
 */
export class BudgetService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly defaultMonthlyUsd: number,
  ) {}

  async status(userId: string): Promise<BudgetStatus> {
    const period = monthOf(this.clock.now());
    const [override] = await this.db.select({ monthlyUsd: llmBudgets.monthlyUsd }).from(llmBudgets).where(eq(llmBudgets.userId, userId));
    const monthlyUsd = override?.monthlyUsd ?? this.defaultMonthlyUsd;
    const spent = await spentUsd(this.db, userId, period);
    return {
      userId,
      monthlyUsd,
      source: override ? "override" : "default",
      spentUsd: spent,
      remainingUsd: Math.max(0, monthlyUsd - spent),
      overBudget: spent >= monthlyUsd,
      periodStart: period.from.toISOString(),
      periodEnd: period.to.toISOString(),
    };
  }

  /** Sets this user's monthly budget; null returns them to the default. */
  async setOverride(userId: string, monthlyUsd: number | null): Promise<BudgetStatus> {
    const [user] = await this.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!user) throw new UserNotFoundError(userId);
    if (monthlyUsd === null) {
      await this.db.delete(llmBudgets).where(eq(llmBudgets.userId, userId));
    } else {
      const now = this.clock.now();
      await this.db
        .insert(llmBudgets)
        .values({ userId, monthlyUsd, updatedAt: now })
        .onConflictDoUpdate({ target: llmBudgets.userId, set: { monthlyUsd, updatedAt: now } });
    }
    return this.status(userId);
  }
}
