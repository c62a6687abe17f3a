import { DateTime } from "luxon";
import type { Period } from "../../time/periods";
import { PAST_DEFAULT_HOUR, resolveTime, wallTime, type ResolvedTime } from "../../time/resolve-time";
import type { Act } from "./intent";

export interface TimeInText {
  /** The time words, as the user wrote them ("tonight at 8"). */
  words: string;
  /** What to hand a tool: the words, or the local wall time when a part of the day set the hour. */
  when: string;
  resolved: ResolvedTime;
  /** The text without them. */
  rest: string;
}

/** Tidies what is left once the time words are cut out: no dangling "at", "on", commas. */
export function tidy(text: string): string {
  return text
    .replace(/\s+,/g, ",")
    .replace(/\s+(?:at|on|by|in|for|from|this|next|around|about)\s*(?=[,.;]|$)/gi, "")
    .replace(/^\s*(?:at|on|by|in|from)\s+/i, "")
    .replace(/[\s,;:.-]+$/, "")
    .replace(/^[\s,;:-]+/, "")
    .replace(/\s+/g, " ")
    .trim();
}

const PARTS_OF_DAY: [RegExp, number][] = [
  [/\bafternoon\b/i, 15],
  [/\bevening\b/i, 19],
  [/\b(?:tonight|night)\b/i, 20],
  [/\b(?:noon|midday|lunchtime)\b/i, 12],
];

const ORDINAL = /\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))/i;

/**
 * chrono reads "the 1st" only with a month; people leave it out. "on the 1st" becomes the next
 * (or, looking back, the last) 1st of a month, written out so chrono and the tools read it.
 */
function withMonth(act: Act, text: string, direction: "future" | "past"): string {
  const m = text.match(ORDINAL);
  if (!m) return text;
  const today = DateTime.fromJSDate(act.now).setZone(act.zone).startOf("day");
  const d = Number(m[1]);
  let day = today.set({ day: Math.min(d, today.daysInMonth ?? 28) });
  if (direction === "future" && day < today) day = today.plus({ months: 1 }).set({ day: d });
  if (direction === "past" && day > today) day = today.minus({ months: 1 }).set({ day: d });
  return day.isValid ? text.replace(m[0], `on ${day.toFormat("d LLLL yyyy")}`) : text;
}

/** Finds the time in a request through chrono-node, in the user's zone. Past-facing for records. */
export function timeIn(act: Act, said: string, direction: "future" | "past" = "future"): TimeInText | null {
  const text = withMonth(act, said, direction);
  const opts = direction === "future" ? {} : { forwardDate: false, defaultHour: PAST_DEFAULT_HOUR };
  let r = resolveTime(text, act.zone, act.now, opts);
  if (!r || !r.matchedText) return null;
  // "Parents evening at school friday 18:00": a later, exact time beats a first, vague word.
  if (!r.hadTime) {
    const later = resolveTime(text.replace(r.matchedText, " "), act.zone, act.now, opts);
    if (later?.hadTime && later.matchedText) r = later;
  }
  const rest = tidy(text.replace(r.matchedText, " "));
  // "sunday afternoon" names no hour; the part of the day does ("morning" keeps the default).
  const part = r.hadTime ? undefined : PARTS_OF_DAY.find(([re]) => re.test(r.matchedText))?.[1];
  if (part !== undefined) {
    const local = r.local.set({ hour: part, minute: 0, second: 0, millisecond: 0 });
    return { words: r.matchedText, when: wall(local), resolved: { ...r, local, at: local.toUTC(), hadTime: true }, rest };
  }
  return { words: r.matchedText, when: r.matchedText, resolved: r, rest };
}

/** A local wall time as the tools take it ("2026-11-24T10:00:00"), so nothing is parsed twice. */
export function wall(dt: DateTime): string {
  return wallTime(dt);
}

/** The days a question asks about: a named period, or one local day named by a weekday or a date. */
export type AskedDays = { period: Period } | { from: string; to: string; label: string };

const PERIOD_WORDS: [RegExp, Period][] = [
  [/\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b/, "today"],
  [/\btomorrow\b/, "tomorrow"],
  [/\byesterday\b/, "yesterday"],
  [/\blast week\b/, "last_week"],
  [/\bnext (?:7|seven) days\b|\bnext week\b|\bcoming week\b|\bcoming days\b/, "next_7_days"],
  [/\bthis week\b|\bthe week\b|\bweekly\b/, "this_week"],
  [/\blast month\b/, "last_month"],
  [/\bthis month\b|\bmonthly\b|\bthe month\b/, "this_month"],
  [/\bthis year\b|\bthe year\b/, "this_year"],
];

export function periodIn(text: string): Period | null {
  const t = text.toLowerCase();
  for (const [re, p] of PERIOD_WORDS) if (re.test(t)) return p;
  return null;
}

/**
 * The days a question is about. A weekday or a date becomes that one local day, labelled by its
 * own date, so the answer can never name a day other than the one asked about.
 */
export function askedDays(act: Act, text: string, fallback: Period, direction: "future" | "past" = "future"): AskedDays {
  const p = periodIn(text);
  if (p) return { period: p };
  const t = timeIn(act, text, direction);
  if (!t) return { period: fallback };
  const day = t.resolved.local.startOf("day");
  const today = DateTime.fromJSDate(act.now).setZone(act.zone).startOf("day");
  const label = `${day.hasSame(today, "day") ? "today, " : ""}${day.toFormat("cccc d LLL")}`;
  return { from: wall(day), to: wall(day.plus({ days: 1 })), label };
}
