import { and, eq, gt, sql } from "drizzle-orm";
import type { Clock } from "../clock";
import type { Db, Executor } from "../db/database";
import { llmBudgetReservations, llmBudgets, users } from "../db/schema";
import { UserNotFoundError } from "../errors";
import { monthOf } from "./period";
import { spentUsd } from "./usage-store";

/**
 * How long a reservation counts when its call never settles (the control plane died mid-call):
 * longer than any call may last, short enough that a crash does not lock a user out for long.
 */
export const RESERVATION_TTL_MS = 30 * 60_000;

async function reservedUsd(db: Executor, userId: string, now: Date): Promise<number> {
  const [row] = await db
    .select({ sum: sql<number>`coalesce(sum(${llmBudgetReservations.costUsd}), 0)::float8` })
    .from(llmBudgetReservations)
    .where(and(eq(llmBudgetReservations.userId, userId), gt(llmBudgetReservations.expiresAt, now)));
  return Number(row?.sum ?? 0);
}

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
 *
 * A call is admitted by `reserve`: under a lock on the user's row (so concurrent calls, on any
 * replica, are decided one after another) it holds the call's maximum cost, capped at what is
 * left, against the budget until the call's usage row is written. Twenty calls racing for the
 * last cents therefore see each other: the first takes what is left, the rest are refused. A user
 * can overshoot by at most one call's real cost beyond its reservation (see docs/security.md).
 */
export class BudgetService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly defaultMonthlyUsd: number,
  ) {}

  async status(userId: string): Promise<BudgetStatus> {
    return this.statusIn(this.db, userId);
  }

  private async statusIn(db: Executor, userId: string): Promise<BudgetStatus> {
    const period = monthOf(this.clock.now());
    const [override] = await db.select({ monthlyUsd: llmBudgets.monthlyUsd }).from(llmBudgets).where(eq(llmBudgets.userId, userId));
    const monthlyUsd = override?.monthlyUsd ?? this.defaultMonthlyUsd;
    const spent = await spentUsd(db, userId, period);
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

  /**
   * Admits a call that may cost up to maxCostUsd, or answers the status that refuses it (nothing
   * left once spending and the other calls in flight are counted). Release the reservation once
   * the call's usage is recorded.
   */
  async reserve(userId: string, maxCostUsd: number): Promise<{ admitted: true; release: () => Promise<void> } | { admitted: false; status: BudgetStatus }> {
    const now = this.clock.now();
    const outcome = await this.db.transaction(async (tx) => {
      // Serialises admissions per user across connections and replicas.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("update");
      const status = await this.statusIn(tx, userId);
      const reserved = await reservedUsd(tx, userId, now);
      const left = status.monthlyUsd - status.spentUsd - reserved;
      if (status.overBudget || left <= 0) return { admitted: false as const, status: { ...status, spentUsd: status.spentUsd + reserved, remainingUsd: 0, overBudget: true } };
      const [row] = await tx
        .insert(llmBudgetReservations)
        .values({ userId, costUsd: Math.max(0, Math.min(maxCostUsd, left)), expiresAt: new Date(now.getTime() + RESERVATION_TTL_MS) })
        .returning({ id: llmBudgetReservations.id });
      return { admitted: true as const, id: row!.id };
    });
    if (!outcome.admitted) return outcome;
    return { admitted: true, release: async () => void (await this.db.delete(llmBudgetReservations).where(eq(llmBudgetReservations.id, outcome.id))) };
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
