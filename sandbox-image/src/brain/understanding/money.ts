import type { SpendingSummary } from "../../tools/money-tools";
import { findAmount } from "./amount";
import { CATEGORIES, categoryOf } from "./categories";
import type { Act, Intent, Recogniser } from "./intent";
import { periodIn, tidy, timeIn } from "./when";

const INCOME = /\b(?:earned|earn|received|receive|got paid|get paid|was paid|income|salary|paycheck|payday|refund(?:ed)?|sold|made|invoice paid|paid me|bonus|allowance|pocket money)\b/i;
const EXPENSE_VERB = /\b(?:spent|spend|paid|pay|bought|buy|cost|costs|costed|was|were|came to|charged|expense|log|logged|blew|splurged|owe|tip(?:ped)?)\b/i;
const SUMMARY = /\b(?:how much|what)\b.*\b(?:spen[dt]|spending|earn(?:ed)?|income|made)\b|^(?:my |show (?:me )?(?:my )?)?(?:spending|expenses|income|earnings|budget|money)(?: summary| report)?\b|\b(?:spending|expense|money) (?:summary|report|overview)\b/i;
/** Words that only glue an amount to what it was for. */
const GLUE = /\b(?:i|i've|i have|just|spent|spend|paid|pay|bought|buy|cost|costs|costed|was|were|came to|charged|log|logged|expense|expenses|an?|on|for|at|in|the|of|me|total|got|received|earned|made|from|as|my|income|today)\b/gi;

function description(clause: string, amountText: string): string {
  return tidy(
    clause
      .replace(amountText, " ")
      .replace(/^(?:log|record|add|note)\s+(?:an?\s+)?(?:expense|income)?:?\s*/i, "")
      .replace(/^(?:expense|income)\s*:?\s*/i, "")
      .replace(/^(?:i\s+)?(?:just\s+)?(?:spent|paid|bought|earned|received|got paid|got|made|sold)\s+/i, "")
      .replace(/^(?:on|for|at|from)\s+/i, "")
      .replace(/\s+(?:was|were|cost|costs|came to)(?:\s+(?:me|us))?\s*$/i, ""),
  )
    .replace(/^(?:on|for|at|from)\s+/i, "")
    .replace(/\s+(?:on|for|at|from)$/i, "")
    .trim();
}

function record(kind: "expense" | "income", clause: string, amount: { amount: number; currency?: string; text: string }): Intent {
  return {
    domain: "money",
    run(act) {
      const t = timeIn(act, clause.replace(amount.text, " "), "past");
      const what = description(t ? t.rest : clause, amount.text) || kind;
      if (kind === "income") {
        const source = /\b(?:salary|paycheck|payday)\b/i.test(what) ? "salary" : /\bsold\b/i.test(clause) ? "sale" : /\bfreelance\b/i.test(what) ? "freelance" : /\bgift\b/i.test(what) ? "gift" : (what.replace(GLUE, " ").trim().split(/\s+/)[0] || "other");
        const { income } = act.call<{ income: { formatted: string } }>("log_income", { amount: amount.amount, currency: amount.currency, source, description: what, date: t?.when });
        return `Logged ${income.formatted} of income${what && what !== "income" ? ` from ${what}` : ""}.`;
      }
      const category = categoryOf(what);
      const { expense } = act.call<{ expense: { formatted: string } }>("log_expense", { amount: amount.amount, currency: amount.currency, category, description: what, date: t?.when });
      return what === kind ? `Logged ${expense.formatted} (${category}).` : `Logged ${expense.formatted} on ${what} (${category}).`;
    },
  };
}

function summary(clause: string): Intent {
  return {
    domain: "money",
    run(act) {
      const period = periodIn(clause) ?? (/\btoday\b/i.test(clause) ? "today" : "this_week");
      const s = act.call<SpendingSummary>("spending_summary", { period });
      const category = CATEGORIES.find((c) => new RegExp(`\\bon ${c}\\b`, "i").test(clause)) ?? (/\bon (\w+)/i.exec(clause) ? categoryOf(/\bon (\w+)/i.exec(clause)![1]!) : undefined);
      const onlyIncome = /\b(?:earn(?:ed)?|income|made|earnings)\b/i.test(clause) && !/\bspen[dt]|spending|expenses\b/i.test(clause);
      if (s.currencies.length === 0) return onlyIncome ? `No income logged ${s.period}.` : `Nothing spent ${s.period}.`;
      return s.currencies
        .map((c) => {
          if (onlyIncome) return `You earned ${c.earned} ${s.period}.`;
          if (category && category !== "other") {
            const b = c.byCategory.find((x) => x.category === category);
            return `You spent ${b ? b.formatted : "nothing"} on ${category} ${s.period} (of ${c.spent} in all).`;
          }
          const cats = c.byCategory.map((b) => `${b.category} ${b.formatted}`).join(", ");
          const earned = c.earnedMinor > 0 ? ` Earned ${c.earned}.` : "";
          return `You spent ${c.spent} ${s.period}${cats ? ` (${cats})` : ""}.${earned}`;
        })
        .join("\n");
    },
  };
}

/**
 * Money: "spent 12.50 on lunch", "lunch was 9,80 €", "€9.80 coffee", "got paid 1500 eur",
 * "how much did I spend on food this month". An amount needs a currency or a money verb, so
 * "pizza 800 kcal" or "at 5" are never mistaken for spending.
 */
export const recogniseMoney: Recogniser = (clause, act: Act) => {
  if (SUMMARY.test(clause) && !findAmount(clause, act.currency)) return summary(clause);
  if (/^(?:remind|add task|todo|schedule|book)\b/i.test(clause)) return null;
  // Questions and errands about money are not records of it ("convert 20 dollars to yen").
  if (/^(?:how|what|why|when|where|which|is|are|do|does|should|convert|exchange|calculate|compare|split|divide|lend|borrow|transfer|send|invest|save up)\b/i.test(clause)) return null;
  const amount = findAmount(clause, act.currency);
  if (!amount) return null;
  const income = INCOME.test(clause) && !/\b(?:spent|bought|paid for)\b/i.test(clause);
  if (!amount.currency && !income && !EXPENSE_VERB.test(clause)) return null;
  return record(income ? "income" : "expense", clause, amount);
};
