import * as chrono from "chrono-node";
import { DateTime, IANAZone } from "luxon";

export interface ResolvedTime {
  /** The instant, UTC. */
  at: DateTime;
  /** The same instant in the user's zone (its wall time is what recurrence keeps). */
  local: DateTime;
  /** The words of the input that named the time (empty for ISO input). */
  matchedText: string;
  /** False when the text named a day but no time of day (a default hour was used). */
  hadTime: boolean;
  /** The end of a range ("10 to 11am", "14:30-15:15"), in the user's zone, when the text gave one. */
  end?: DateTime;
}

/** Hour used when someone names a day but no time ("remind me tomorrow"). */
export const DEFAULT_HOUR = 9;
/** Hour used for a record dated by day only ("spent 40 yesterday"): midday keeps it inside that local day. */
export const PAST_DEFAULT_HOUR = 12;

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/**
 * Resolves a time the way the user meant it: in their zone. ISO strings are taken as given (an
 * offset wins; without one it is local wall time). Natural language goes through chrono-node.
 *
 * chrono works in one fixed offset, which is wrong across a DST change ("next Monday at 9" said in
 * October). So chrono parses against the user's local wall clock presented as UTC, and luxon then
 * places the resulting wall time in the real zone, which picks the right offset for that date.
 */
export function resolveTime(
  text: string,
  zone: string,
  now: Date,
  opts: { forwardDate?: boolean; defaultHour?: number } = {},
): ResolvedTime | null {
  const defaultHour = opts.defaultHour ?? DEFAULT_HOUR;
  const trimmed = text.trim();
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(trimmed)) {
    const iso = DateTime.fromISO(trimmed.replace(" ", "T"), { zone });
    if (!iso.isValid) return null;
    const hadTime = /[T ]\d{2}:\d{2}/.test(trimmed);
    const local = hadTime ? iso.setZone(zone) : iso.set({ hour: defaultHour });
    return { at: local.toUTC(), local, matchedText: "", hadTime };
  }
  const nowLocal = DateTime.fromJSDate(now).setZone(zone);
  const wallAsUtc = new Date(Date.UTC(nowLocal.year, nowLocal.month - 1, nowLocal.day, nowLocal.hour, nowLocal.minute, nowLocal.second));
  const results = chrono.parse(trimmed, { instant: wallAsUtc, timezone: 0 }, { forwardDate: opts.forwardDate ?? true });
  const first = results[0];
  if (!first) return null;
  const s = first.start;
  const hadTime = s.isCertain("hour");
  const relative = !s.isCertain("day") && !s.isCertain("weekday") && hadTime && /\bin\b|\bafter\b|\bago\b/i.test(first.text);
  let local: DateTime;
  if (relative) {
    // "in 2 hours" is a duration, not a wall time: add it to the real instant.
    const delta = s.date().getTime() - wallAsUtc.getTime();
    local = nowLocal.plus({ milliseconds: delta });
  } else {
    local = DateTime.fromObject(
      {
        year: s.get("year") ?? nowLocal.year,
        month: s.get("month") ?? nowLocal.month,
        day: s.get("day") ?? nowLocal.day,
        hour: hadTime ? (s.get("hour") ?? 0) : defaultHour,
        minute: hadTime ? (s.get("minute") ?? 0) : 0,
        second: hadTime ? (s.get("second") ?? 0) : 0,
      },
      { zone },
    );
  }
  if (!local.isValid) return null;
  let end: DateTime | undefined;
  if (first.end && first.end.isCertain("hour")) {
    const e = first.end;
    end = DateTime.fromObject(
      { year: e.get("year") ?? local.year, month: e.get("month") ?? local.month, day: e.get("day") ?? local.day, hour: e.get("hour") ?? 0, minute: e.get("minute") ?? 0 },
      { zone },
    );
    if (!end.isValid || end <= local) end = undefined;
  }
  return { at: local.toUTC(), local, matchedText: first.text, hadTime, ...(end ? { end } : {}) };
}

/** Local wall time without an offset, e.g. "2026-10-24T08:00:00": what recurrence keeps. */
export function wallTime(local: DateTime): string {
  return local.toFormat("yyyy-MM-dd'T'HH:mm:ss");
}

export function toIso(dt: DateTime): string {
  return dt.toUTC().toISO({ suppressMilliseconds: false }) ?? dt.toUTC().toString();
}
