import { DateTime } from "luxon";
import type { Db } from "../db/open-database";
import { periodRange } from "../time/periods";
import { toIso } from "../time/resolve-time";
import { formatMoney, localLabel, localTimeLabel } from "../tools/format";
import type { CheckItem } from "./checklist";

export interface DueItem {
  check: CheckItem["check"];
  /** Nudge keys recorded for today once the message is sent, so the same thing is not said twice. */
  keys: string[];
  /** Plain facts for the message. */
  lines: string[];
}

export interface Evaluation {
  due: DueItem[];
  nextDueAt: string | null;
}

interface Env {
  db: Db;
  zone: string;
  now: Date;
}

function localDate(env: Env): string {
  return DateTime.fromJSDate(env.now).setZone(env.zone).toISODate()!;
}

export function nudgedToday(env: Env, key: string): boolean {
  return !!env.db.prepare("SELECT 1 FROM heartbeat_nudges WHERE item = ? AND local_date = ?").get(key, localDate(env));
}

export function recordNudges(env: Env, keys: string[]): void {
  const stmt = env.db.prepare("INSERT OR IGNORE INTO heartbeat_nudges (item, local_date, nudged_at) VALUES (?, ?, ?)");
  for (const k of keys) stmt.run(k, localDate(env), env.now.toISOString());
}

function at(env: Env, hhmm: string, dayOffset = 0): DateTime {
  const [h, m] = hhmm.split(":").map(Number);
  return DateTime.fromJSDate(env.now).setZone(env.zone).startOf("day").plus({ days: dayOffset }).set({ hour: h, minute: m });
}

function briefLines(env: Env): string[] {
  const today = periodRange("today", env.zone, env.now);
  const events = env.db
    .prepare("SELECT title, starts_at, ends_at FROM schedule_events WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at")
    .all(today.to, today.from) as { title: string; starts_at: string; ends_at: string }[];
  const tasks = env.db.prepare("SELECT id, title FROM tasks WHERE status = 'open' ORDER BY due_at IS NULL, due_at, id LIMIT 5").all() as { id: number; title: string }[];
  const reminders = env.db
    .prepare("SELECT text, due_at FROM reminders WHERE status = 'pending' AND due_at >= ? AND due_at < ? ORDER BY due_at")
    .all(today.from, today.to) as { text: string; due_at: string }[];
  // A brief with nothing in it is an "all is well" message: never sent.
  if (!events.length && !tasks.length && !reminders.length) return [];
  return [
    events.length ? `Events today: ${events.map((e) => `${localTimeLabel(e.starts_at, env.zone)} ${e.title}`).join("; ")}` : "No events today.",
    tasks.length ? `Open tasks: ${tasks.map((t) => t.title).join("; ")}` : "No open tasks.",
    ...(reminders.length ? [`Reminders today: ${reminders.map((r) => `${localTimeLabel(r.due_at, env.zone)} ${r.text}`).join("; ")}`] : []),
  ];
}

function eveningLines(env: Env): string[] {
  const today = periodRange("today", env.zone, env.now);
  const done = env.db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'done' AND completed_at >= ? AND completed_at < ?").get(today.from, today.to) as { n: number };
  const open = env.db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'open'").get() as { n: number };
  const spent = env.db
    .prepare("SELECT currency, SUM(amount_minor) AS minor FROM expenses WHERE spent_at >= ? AND spent_at < ? GROUP BY currency")
    .all(today.from, today.to) as { currency: string; minor: number }[];
  const tomorrow = periodRange("tomorrow", env.zone, env.now);
  const first = env.db.prepare("SELECT title, starts_at FROM schedule_events WHERE starts_at >= ? AND starts_at < ? ORDER BY starts_at LIMIT 1").get(tomorrow.from, tomorrow.to) as
    | { title: string; starts_at: string }
    | undefined;
  // Nothing done, open, spent or coming: an evening check would only say "all is well".
  if (!done.n && !open.n && !spent.length && !first) return [];
  return [
    `Tasks done today: ${done.n}; still open: ${open.n}.`,
    spent.length ? `Spent today: ${spent.map((s) => formatMoney(s.minor, s.currency)).join(", ")}.` : "Nothing spent today (or not logged).",
    ...(first ? [`First thing tomorrow: ${localTimeLabel(first.starts_at, env.zone)} ${first.title}.`] : []),
  ];
}

/**
 * Checks every item cheaply against the database: no model, a few indexed queries. Returns what is
 * due now and when the next item could become due (for the control plane's scheduling).
 */
export function evaluateChecklist(env: Env, items: CheckItem[]): Evaluation {
  const due: DueItem[] = [];
  const next: number[] = [];
  const nowMs = env.now.getTime();
  const local = DateTime.fromJSDate(env.now).setZone(env.zone);

  for (const item of items) {
    switch (item.check) {
      case "due-reminders": {
        const cutoff = new Date(nowMs - item.graceMinutes * 60_000).toISOString();
        const missed = env.db.prepare("SELECT id, text, due_at FROM reminders WHERE status = 'pending' AND due_at <= ? ORDER BY due_at").all(cutoff) as {
          id: number;
          text: string;
          due_at: string;
        }[];
        if (missed.length) due.push({ check: item.check, keys: [], lines: missed.map((r) => `Reminder (was due ${localLabel(r.due_at, env.zone)}): ${r.text}`) });
        const upcoming = env.db.prepare("SELECT MIN(due_at) AS at FROM reminders WHERE status = 'pending' AND due_at > ?").get(cutoff) as { at: string | null };
        if (upcoming.at) next.push(Date.parse(upcoming.at) + item.graceMinutes * 60_000);
        break;
      }
      case "overdue-tasks": {
        const tasks = env.db.prepare("SELECT id, title, due_at FROM tasks WHERE status = 'open' AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at").all(env.now.toISOString()) as {
          id: number;
          title: string;
          due_at: string;
        }[];
        const fresh = tasks.filter((t) => !nudgedToday(env, `task:${t.id}`));
        if (fresh.length) due.push({ check: item.check, keys: fresh.map((t) => `task:${t.id}`), lines: fresh.map((t) => `Overdue task (due ${localLabel(t.due_at, env.zone)}): ${t.title}`) });
        const upcoming = env.db.prepare("SELECT MIN(due_at) AS at FROM tasks WHERE status = 'open' AND due_at > ?").get(env.now.toISOString()) as { at: string | null };
        if (upcoming.at) next.push(Date.parse(upcoming.at));
        break;
      }
      case "upcoming-event": {
        const horizon = new Date(nowMs + item.minutesAhead * 60_000).toISOString();
        const events = env.db.prepare("SELECT id, title, starts_at, location FROM schedule_events WHERE starts_at > ? AND starts_at <= ? ORDER BY starts_at").all(env.now.toISOString(), horizon) as {
          id: number;
          title: string;
          starts_at: string;
          location: string | null;
        }[];
        const fresh = events.filter((e) => !nudgedToday(env, `event:${e.id}`));
        if (fresh.length)
          due.push({
            check: item.check,
            keys: fresh.map((e) => `event:${e.id}`),
            lines: fresh.map((e) => `Coming up at ${localTimeLabel(e.starts_at, env.zone)}: ${e.title}${e.location ? ` (${e.location})` : ""}`),
          });
        const later = env.db.prepare("SELECT MIN(starts_at) AS at FROM schedule_events WHERE starts_at > ?").get(horizon) as { at: string | null };
        if (later.at) next.push(Date.parse(later.at) - item.minutesAhead * 60_000);
        break;
      }
      case "morning-brief":
      case "evening-check": {
        const start = at(env, item.start);
        const end = at(env, item.end);
        const done = nudgedToday(env, item.check);
        if (!done && local >= start && local < end) {
          const lines = item.check === "morning-brief" ? briefLines(env) : eveningLines(env);
          if (lines.length) due.push({ check: item.check, keys: [item.check], lines });
        }
        next.push((local < start && !done ? start : at(env, item.start, 1)).toMillis());
        break;
      }
      case "lunch-check": {
        const after = at(env, item.after);
        // Asking about lunch is useful for the afternoon, not at midnight.
        const stale = after.plus({ hours: 4 });
        const today = periodRange("today", env.zone, env.now);
        const done = nudgedToday(env, item.check);
        const hadLunch = !!env.db.prepare("SELECT 1 FROM meals WHERE meal_type = 'lunch' AND eaten_at >= ? AND eaten_at < ?").get(today.from, today.to);
        if (!done && !hadLunch && local >= after && local < stale) {
          due.push({ check: item.check, keys: [item.check], lines: [`No lunch logged today (it is past ${item.after}).`] });
        }
        next.push((local < after && !done && !hadLunch ? after : at(env, item.after, 1)).toMillis());
        break;
      }
    }
  }
  const future = next.filter((ms) => ms > nowMs);
  return { due, nextDueAt: future.length ? toIso(DateTime.fromMillis(Math.min(...future))) : null };
}
