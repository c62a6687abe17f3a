import { DateTime } from "luxon";

export const PERIODS = ["today", "yesterday", "tomorrow", "this_week", "last_week", "next_7_days", "this_month", "last_month", "this_year"] as const;
export type Period = (typeof PERIODS)[number];

export interface Range {
  /** Inclusive start, UTC ISO. */
  from: string;
  /** Exclusive end, UTC ISO. */
  to: string;
  label: string;
}

/** A named period as a UTC range of the user's local days (weeks start on Monday). */
export function periodRange(period: Period, zone: string, now: Date): Range {
  const n = DateTime.fromJSDate(now).setZone(zone);
  const day = n.startOf("day");
  const r = (from: DateTime, to: DateTime, label: string): Range => ({
    from: from.toUTC().toISO()!,
    to: to.toUTC().toISO()!,
    label,
  });
  switch (period) {
    case "today":
      return r(day, day.plus({ days: 1 }), "today");
    case "yesterday":
      return r(day.minus({ days: 1 }), day, "yesterday");
    case "tomorrow":
      return r(day.plus({ days: 1 }), day.plus({ days: 2 }), "tomorrow");
    case "this_week": {
      const w = n.startOf("week");
      return r(w, w.plus({ weeks: 1 }), "this week");
    }
    case "last_week": {
      const w = n.startOf("week");
      return r(w.minus({ weeks: 1 }), w, "last week");
    }
    case "next_7_days":
      return r(n, n.plus({ days: 7 }), "the next 7 days");
    case "this_month": {
      const m = n.startOf("month");
      return r(m, m.plus({ months: 1 }), "this month");
    }
    case "last_month": {
      const m = n.startOf("month");
      return r(m.minus({ months: 1 }), m, "last month");
    }
    case "this_year": {
      const y = n.startOf("year");
      return r(y, y.plus({ years: 1 }), "this year");
    }
  }
}

/** Number of local days a range spans (for daily averages). */
export function daysIn(range: Range): number {
  const ms = Date.parse(range.to) - Date.parse(range.from);
  return Math.max(1, Math.round(ms / 86_400_000));
}
