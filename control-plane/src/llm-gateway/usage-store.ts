import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db, Executor } from "../db/database";
import { llmUsage, users, type NewLlmUsage } from "../db/schema";
import type { Period } from "./period";

export type UsageStatus = "ok" | "upstream_error" | "timeout" | "aborted" | "failed" | "budget_exceeded";

export interface UsageTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** Calls refused because the user's budget was spent. */
  rejected: number;
  /** Calls that reached the provider and did not end well (upstream error, timeout, failure). */
  errors: number;
}

export interface UsageSummary {
  userId: string;
  from: string;
  to: string;
  totals: UsageTotals;
  byModel: ({ model: string } & UsageTotals)[];
  byPurpose: ({ purpose: string } & UsageTotals)[];
}

export async function recordUsage(db: Executor, row: NewLlmUsage): Promise<void> {
  await db.insert(llmUsage).values(row);
}

// Sums come back as bigint/numeric (strings under node-postgres); cast to float8 and Number() them.
const totalsColumns = {
  requests: sql<number>`count(*)::int`,
  promptTokens: sql<number>`coalesce(sum(${llmUsage.promptTokens}), 0)::float8`,
  completionTokens: sql<number>`coalesce(sum(${llmUsage.completionTokens}), 0)::float8`,
  costUsd: sql<number>`coalesce(sum(${llmUsage.costUsd}), 0)::float8`,
  rejected: sql<number>`count(*) filter (where ${llmUsage.status} = 'budget_exceeded')::int`,
  errors: sql<number>`count(*) filter (where ${llmUsage.status} in ('upstream_error', 'timeout', 'failed'))::int`,
};

function toTotals(r: Record<keyof UsageTotals, unknown>): UsageTotals {
  return {
    requests: Number(r.requests),
    promptTokens: Number(r.promptTokens),
    completionTokens: Number(r.completionTokens),
    costUsd: Number(r.costUsd),
    rejected: Number(r.rejected),
    errors: Number(r.errors),
  };
}

const inPeriod = (p: Period) => and(gte(llmUsage.createdAt, p.from), lt(llmUsage.createdAt, p.to));

/** What one user spent in a period (USD). */
export async function spentUsd(db: Executor, userId: string, period: Period): Promise<number> {
  const [row] = await db
    .select({ cost: totalsColumns.costUsd })
    .from(llmUsage)
    .where(and(eq(llmUsage.userId, userId), inPeriod(period)));
  return Number(row?.cost ?? 0);
}

/** One user's usage in [from, to): totals, and split by model and by purpose. */
export async function usageSummary(db: Db, userId: string, period: Period): Promise<UsageSummary> {
  const where = and(eq(llmUsage.userId, userId), inPeriod(period));
  const [totals] = await db.select(totalsColumns).from(llmUsage).where(where);
  const byModel = await db
    .select({ model: llmUsage.model, ...totalsColumns })
    .from(llmUsage)
    .where(where)
    .groupBy(llmUsage.model)
    .orderBy(llmUsage.model);
  const purpose = sql<string>`coalesce(${llmUsage.purpose}, 'unspecified')`;
  const byPurpose = await db.select({ purpose, ...totalsColumns }).from(llmUsage).where(where).groupBy(purpose).orderBy(purpose);
  return {
    userId,
    from: period.from.toISOString(),
    to: period.to.toISOString(),
    totals: toTotals(totals!),
    byModel: byModel.map((r) => ({ model: r.model, ...toTotals(r) })),
    byPurpose: byPurpose.map((r) => ({ purpose: r.purpose, ...toTotals(r) })),
  };
}

/** Every user with any usage in the period, most expensive first. */
export async function usageByUser(db: Db, period: Period): Promise<({ userId: string; name: string | null; phone: string | null } & UsageTotals)[]> {
  const rowsOut = await db
    .select({ userId: llmUsage.userId, name: users.name, phone: users.phone, ...totalsColumns })
    .from(llmUsage)
    .innerJoin(users, eq(users.id, llmUsage.userId))
    .where(inPeriod(period))
    .groupBy(llmUsage.userId, users.name, users.phone)
    .orderBy(sql`coalesce(sum(${llmUsage.costUsd}), 0) desc`, llmUsage.userId);
  return rowsOut.map((r) => ({ userId: r.userId, name: r.name, phone: r.phone, ...toTotals(r) }));
}
