import { z } from "zod/v4";
import { periodRange, type Period } from "../time/periods";
import { toIso } from "../time/resolve-time";
import { formatMoney, toMinor } from "./format";
import { defineTool, ToolError, type ToolContext } from "./tool";
import { periodTool, toolTime } from "./tool-parts";

const currency = () =>
  z
    .string()
    .regex(/^[A-Za-z]{3}$/)
    .transform((c) => c.toUpperCase())
    .optional()
    .describe("ISO 4217 code; defaults to the user's currency");

/** Money spent and money received are one kind of record, in two tables with their own column names. */
const LEDGERS = {
  expense: { table: "expenses", kind: "category", at: "spent_at" },
  income: { table: "income", kind: "source", at: "received_at" },
} as const;

function insertEntry(ctx: ToolContext, ledger: (typeof LEDGERS)[keyof typeof LEDGERS], a: { amount: number; currency?: string; kind?: string; description?: string; date?: string }) {
  const currency = a.currency ?? ctx.currency();
  const minor = toMinor(a.amount, currency);
  if (minor <= 0) throw new ToolError("The amount has to be more than zero.");
  const at = a.date ? toIso(toolTime(ctx, a.date, "date", { past: true }).at) : ctx.now().toISOString();
  const info = ctx.db
    .prepare(`INSERT INTO ${ledger.table} (amount_minor, currency, ${ledger.kind}, description, ${ledger.at}, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
    .run(minor, currency, (a.kind ?? "other").toLowerCase(), a.description ?? null, at, ctx.now().toISOString());
  return { id: Number(info.lastInsertRowid), amountMinor: minor, currency, formatted: formatMoney(minor, currency) };
}

export const logExpense = defineTool({
  name: "log_expense",
  description: "Record money the user spent. Amount in major units (12.50).",
  schema: () => z.object({
    amount: z.number().positive(),
    currency: currency(),
    category: z.string().max(60).optional().describe("food, transport, groceries, rent, ..."),
    description: z.string().max(300).optional(),
    date: z.string().optional().describe("when, if not now"),
  }),
  run: (ctx, a) => ({ expense: insertEntry(ctx, LEDGERS.expense, { ...a, kind: a.category }) }),
});

export const logIncome = defineTool({
  name: "log_income",
  description: "Record money the user received. Amount in major units.",
  schema: () => z.object({
    amount: z.number().positive(),
    currency: currency(),
    source: z.string().max(60).optional().describe("salary, freelance, gift, ..."),
    description: z.string().max(300).optional(),
    date: z.string().optional(),
  }),
  run: (ctx, a) => ({ income: insertEntry(ctx, LEDGERS.income, { ...a, kind: a.source }) }),
});

export interface SpendingSummary {
  period: string;
  /** Per currency: spent, earned, and spending per category. Currencies are never added together. */
  currencies: { currency: string; spentMinor: number; earnedMinor: number; spent: string; earned: string; byCategory: { category: string; minor: number; formatted: string }[] }[];
  expenseCount: number;
}

export function spendingSummary(ctx: ToolContext, period: Period): SpendingSummary {
  const range = periodRange(period, ctx.timezone(), ctx.now());
  const cats = ctx.db
    .prepare(
      `SELECT currency, category, SUM(amount_minor) AS minor, COUNT(*) AS n FROM expenses
       WHERE spent_at >= ? AND spent_at < ? GROUP BY currency, category ORDER BY currency, minor DESC`,
    )
    .all(range.from, range.to) as { currency: string; category: string; minor: number; n: number }[];
  const earned = ctx.db
    .prepare("SELECT currency, SUM(amount_minor) AS minor FROM income WHERE received_at >= ? AND received_at < ? GROUP BY currency")
    .all(range.from, range.to) as { currency: string; minor: number }[];
  const codes = [...new Set([...cats.map((c) => c.currency), ...earned.map((e) => e.currency)])].sort();
  return {
    period: range.label,
    expenseCount: cats.reduce((s, c) => s + c.n, 0),
    currencies: codes.map((currency) => {
      const mine = cats.filter((c) => c.currency === currency);
      const spentMinor = mine.reduce((s, c) => s + c.minor, 0);
      const earnedMinor = earned.find((e) => e.currency === currency)?.minor ?? 0;
      return {
        currency,
        spentMinor,
        earnedMinor,
        spent: formatMoney(spentMinor, currency),
        earned: formatMoney(earnedMinor, currency),
        byCategory: mine.map((c) => ({ category: c.category, minor: c.minor, formatted: formatMoney(c.minor, currency) })),
      };
    }),
  };
}

export const spendingSummaryTool = periodTool("spending_summary", "Totals spent and earned in a period, per currency and category.", "this_week", spendingSummary);

export const MONEY_TOOLS = [logExpense, logIncome, spendingSummaryTool];
