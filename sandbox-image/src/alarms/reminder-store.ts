import { DateTime } from "luxon";
import type { Db } from "../db/open-database";
import { nextOccurrenceIndex, occurrence, type Recurrence } from "../time/recurrence";
import { toIso } from "../time/resolve-time";

export interface ReminderRow {
  id: number;
  text: string;
  due_at: string;
  timezone: string;
  anchor_local: string;
  recurrence: Recurrence | null;
  urgent: 0 | 1;
  status: "pending" | "fired" | "cancelled";
  fire_count: number;
  last_fired_at: string | null;
  created_at: string;
}

export interface FiredReminder {
  id: number;
  text: string;
  dueAt: string;
  urgent: boolean;
}

/** The earliest pending reminder's due time (UTC ISO), or null: what alarm.set announces. */
export function nextAlarmAt(db: Db): string | null {
  const row = db.prepare("SELECT MIN(due_at) AS at FROM reminders WHERE status = 'pending'").get() as { at: string | null };
  return row.at;
}

export function dueReminders(db: Db, now: Date): ReminderRow[] {
  return db
    .prepare("SELECT * FROM reminders WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id")
    .all(now.toISOString()) as ReminderRow[];
}

/**
 * Fires every reminder due at `now`: one-shot ones become 'fired'; recurring ones advance to their
 * next occurrence after now (missed occurrences are skipped, not replayed one by one). Runs in one
 * transaction so a crash leaves either all or none marked.
 */
export function fireDueReminders(db: Db, now: Date): FiredReminder[] {
  const fired: FiredReminder[] = [];
  db.transaction(() => {
    const markFired = db.prepare("UPDATE reminders SET status = 'fired', fire_count = fire_count + 1, last_fired_at = ? WHERE id = ?");
    const advance = db.prepare("UPDATE reminders SET due_at = ?, fire_count = ?, last_fired_at = ? WHERE id = ?");
    for (const r of dueReminders(db, now)) {
      fired.push({ id: r.id, text: r.text, dueAt: r.due_at, urgent: r.urgent === 1 });
      if (!r.recurrence) {
        markFired.run(now.toISOString(), r.id);
        continue;
      }
      const n = nextOccurrenceIndex(r.anchor_local, r.timezone, r.recurrence, r.fire_count + 1, now);
      advance.run(toIso(occurrence(r.anchor_local, r.timezone, r.recurrence, n)), n, now.toISOString(), r.id);
    }
  })();
  return fired;
}

export function localWall(iso: string, zone: string): DateTime {
  return DateTime.fromISO(iso, { zone: "utc" }).setZone(zone);
}
