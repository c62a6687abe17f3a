import { DateTime, type DurationLikeObject } from "luxon";

export const PERIODS = ["today", "yesterday", "tomorrow", "this_week", "last_week", "next_7_days", "this_month", "last_month", "this_year"] as const;
export type Period = (typeof PERIODS)[number];

export interface Range {
  /** Inclusive start, UTC ISO. */
  from: string;
  /** Exclusive end, UTC ISO. */
  to: string;
  label: string;
}

/** Each period as two offsets from the start of a unit of local time ("now": from this instant). */
const SPANS: Record<Period, { anchor: "now" | "day" | "week" | "month" | "year"; from?: DurationLikeObject; to: DurationLikeObject; label: string }> = {
  today: { anchor: "day", to: { days: 1 }, label: "today" },
  yesterday: { anchor: "day", from: { days: -1 }, to: {}, label: "yesterday" },
  tomorrow: { anchor: "day", from: { days: 1 }, to: { days: 2 }, label: "tomorrow" },
  this_week: { anchor: "week", to: { weeks: 1 }, label: "this week" },
  last_week: { anchor: "week", from: { weeks: -1 }, to: {}, label: "last week" },
  next_7_days: { anchor: "now", to: { days: 7 }, label: "the next 7 days" },
  this_month: { anchor: "month", to: { months: 1 }, label: "this month" },
  last_month: { anchor: "month", from: { months: -1 }, to: {}, label: "last month" },
  this_year: { anchor: "year", to: { years: 1 }, label: "this year" },
};

/** A named period as a UTC range of the user's local days (weeks start on Monday). */
export function periodRange(period: Period, zone: string, now: Date): Range {
  const n = DateTime.fromJSDate(now).setZone(zone);
  const span = SPANS[period];
  const start = span.anchor === "now" ? n : n.startOf(span.anchor);
  return { from: start.plus(span.from ?? {}).toUTC().toISO()!, to: start.plus(span.to).toUTC().toISO()!, label: span.label };
}

/** Number of local days a range spans (for daily averages). */
export function daysIn(range: Range): number {
  const ms = Date.parse(range.to) - Date.parse(range.from);
  return Math.max(1, Math.round(ms / 86_400_000));
}
