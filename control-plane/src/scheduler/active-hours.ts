import { DateTime } from "luxon";

/**
 * Wall-clock math for heartbeats, in the user's time zone. Luxon does the zone arithmetic so that
 * a DST change moves the UTC instant, never the local time the user sees.
 */
export interface ActiveHours {
  timezone: string;
  /** "HH:MM", local. */
  start: string;
  /** "HH:MM", local; "24:00" means midnight at the end of the day; end <= start wraps past midnight. */
  end: string;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_END = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

export function isValidTimezone(tz: string): boolean {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return DateTime.now().setZone(tz).isValid;
  } catch {
    return false;
  }
}

export function isValidStart(hhmm: string): boolean {
  return HHMM.test(hhmm);
}
export function isValidEnd(hhmm: string): boolean {
  return HHMM_END.test(hhmm);
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

/** The active window that starts on the local day `day` (a start-of-day DateTime in the zone). */
function windowOn(day: DateTime, hours: ActiveHours): { from: DateTime; to: DateTime } {
  const s = minutesOf(hours.start);
  const e = minutesOf(hours.end);
  // Luxon moves a wall time that falls in a DST gap forward, which is what a user would expect.
  const from = day.set({ hour: Math.floor(s / 60), minute: s % 60, second: 0, millisecond: 0 });
  const endDay = e <= s ? day.plus({ days: 1 }) : day;
  const to = e === 24 * 60 ? day.plus({ days: 1 }).startOf("day") : endDay.set({ hour: Math.floor(e / 60), minute: e % 60, second: 0, millisecond: 0 });
  return { from, to };
}

/** True when `at` falls inside the user's active hours (start inclusive, end exclusive). */
export function isWithinActiveHours(at: Date, hours: ActiveHours): boolean {
  const local = DateTime.fromJSDate(at, { zone: hours.timezone });
  const t = local.toMillis();
  for (const offset of [-1, 0]) {
    const { from, to } = windowOn(local.startOf("day").plus({ days: offset }), hours);
    if (t >= from.toMillis() && t < to.toMillis()) return true;
  }
  return false;
}

/**
 * The first heartbeat slot strictly after `after`: slots start at the window's start and repeat
 * every `intervalMinutes` while inside the window. Null only for an empty window.
 */
export function nextHeartbeatSlot(after: Date, hours: ActiveHours, intervalMinutes: number): Date | null {
  const stepMs = Math.max(1, Math.round(intervalMinutes * 60_000));
  const t = after.getTime();
  const today = DateTime.fromJSDate(after, { zone: hours.timezone }).startOf("day");
  let best: number | null = null;
  for (let offset = -1; offset <= 2; offset++) {
    const { from, to } = windowOn(today.plus({ days: offset }), hours);
    const f = from.toMillis();
    const e = to.toMillis();
    if (e <= f) continue;
    const k = t < f ? 0 : Math.floor((t - f) / stepMs) + 1;
    const slot = f + k * stepMs;
    if (slot < e && slot > t && (best === null || slot < best)) best = slot;
  }
  return best === null ? null : new Date(best);
}

/** The user's local calendar day, YYYY-MM-DD: what the daily cap counts by. */
export function localDay(at: Date, timezone: string): string {
  return DateTime.fromJSDate(at, { zone: timezone }).toISODate() ?? at.toISOString().slice(0, 10);
}
