import { BadRequestError } from "../errors";

/** A half-open time range [from, to). */
export interface Period {
  from: Date;
  to: Date;
}

/** The calendar month (UTC) that contains `at`: budgets reset when it ends. */
export function monthOf(at: Date): Period {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { from, to };
}

function dayOf(at: Date): Period {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return { from, to: new Date(from.getTime() + 86_400_000) };
}

function parseDate(name: string, v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new BadRequestError(`${name} must be an ISO date like 2026-01-31 or 2026-01-31T12:00:00Z`);
  return d;
}

/**
 * The period an admin asked for: `period=month` (this month, the default), `period=day`,
 * `period=YYYY-MM`, or explicit `from`/`to` ISO dates (to defaults to now).
 */
export function parsePeriod(query: Record<string, unknown>, now: Date): Period {
  const str = (k: string) => (typeof query[k] === "string" && (query[k] as string).trim() !== "" ? (query[k] as string).trim() : undefined);
  const from = str("from");
  const to = str("to");
  if (from !== undefined || to !== undefined) {
    if (from === undefined) throw new BadRequestError("from is required when to is given");
    const p = { from: parseDate("from", from), to: to === undefined ? now : parseDate("to", to) };
    if (p.to <= p.from) throw new BadRequestError("to must be after from");
    return p;
  }
  const period = str("period") ?? "month";
  if (period === "month") return monthOf(now);
  if (period === "day") return dayOf(now);
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (m) return monthOf(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)));
  throw new BadRequestError("period must be month, day or YYYY-MM (or give from and to)");
}
