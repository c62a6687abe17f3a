import express, { type Router } from "express";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { systemClock, type Clock } from "../clock";
import type { Db } from "../db/database";
import { users } from "../db/schema";
import { BadRequestError, UserNotFoundError } from "../errors";
import { BudgetService } from "./budget-service";
import { monthOf, parsePeriod } from "./period";
import { usageByUser, usageSummary } from "./usage-store";

export interface UsageAdminRouterOptions {
  db: Db;
  defaultMonthlyBudgetUsd: number;
  clock?: Clock;
}

const BudgetBody = z.object({ monthlyUsd: z.number().finite().min(0).max(1_000_000).nullable() }).strict();

/**
 * Admin REST for LLM spending, in the /sandbox admin router (admin-router.ts checks the token):
 *   GET /sandbox/usage?period=month|day|YYYY-MM (or from&to)   every user's usage, with this month's budget
 *   GET /sandbox/users/:userId/usage?period=...                one user's usage by model and purpose, with budget
 *   GET /sandbox/users/:userId/budget                          one user's budget this month
 *   PUT /sandbox/users/:userId/budget {monthlyUsd}             override it (null: back to LLM_MONTHLY_BUDGET_USD)
 * It comes before the sandbox routes there, or "usage" would be taken for a sandbox id.
 */
export function createUsageAdminRouter(opts: UsageAdminRouterOptions): Router {
  const clock = opts.clock ?? systemClock;
  const budgets = new BudgetService(opts.db, clock, opts.defaultMonthlyBudgetUsd);
  const router = express.Router();

  const userExists = async (userId: string) => {
    const [u] = await opts.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!u) throw new UserNotFoundError(userId);
  };

  router.get("/usage", async (req, res) => {
    const now = clock.now();
    const period = parsePeriod(req.query as Record<string, unknown>, now);
    const rowsOut = await usageByUser(opts.db, period);
    const month = monthOf(now);
    const withBudget = await Promise.all(rowsOut.map(async (r) => ({ ...r, budget: await budgets.status(r.userId) })));
    res.json({
      from: period.from.toISOString(),
      to: period.to.toISOString(),
      budgetPeriod: { from: month.from.toISOString(), to: month.to.toISOString() },
      users: withBudget,
    });
  });

  router.get("/users/:userId/usage", async (req, res) => {
    const userId = String(req.params.userId);
    await userExists(userId);
    const period = parsePeriod(req.query as Record<string, unknown>, clock.now());
    const [summary, budget] = await Promise.all([usageSummary(opts.db, userId, period), budgets.status(userId)]);
    res.json({ ...summary, budget });
  });

  router.get("/users/:userId/budget", async (req, res) => {
    const userId = String(req.params.userId);
    await userExists(userId);
    res.json(await budgets.status(userId));
  });

  router.put("/users/:userId/budget", express.json({ limit: "16kb" }), async (req, res) => {
    const parsed = BudgetBody.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError("body must be {\"monthlyUsd\": a number of USD >= 0, or null for the default}");
    res.json(await budgets.setOverride(String(req.params.userId), parsed.data.monthlyUsd));
  });

  return router;
}
