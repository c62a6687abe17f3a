import { z } from "zod/v4";
import type { ReminderRow } from "../alarms/reminder-store";
import { nextOccurrenceIndex, occurrence } from "../time/recurrence";
import { toIso, wallTime } from "../time/resolve-time";
import { defineTool, ToolError, type ToolContext } from "./tool";
import { ById, rowById, toolTime } from "./tool-parts";

const reminderById = (ctx: ToolContext, id: number | bigint, visible?: (row: ReminderRow) => boolean) => rowById(ctx, "reminders", "reminder", id, visible);

export function insertReminder(
  ctx: ToolContext,
  a: { text: string; when: string; recurrence?: "daily" | "weekly" | "monthly"; urgent?: boolean },
): ReminderRow {
  const zone = ctx.timezone();
  const r = toolTime(ctx, a.when, "time");
  if (!a.recurrence && r.at.toMillis() <= ctx.now().getTime()) {
    throw new ToolError(`${r.local.toFormat("ccc d LLL HH:mm")} has already passed.`);
  }
  const info = ctx.db
    .prepare(
      `INSERT INTO reminders (text, due_at, timezone, anchor_local, recurrence, urgent, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(a.text.trim(), toIso(r.at), zone, wallTime(r.local), a.recurrence ?? null, a.urgent ? 1 : 0, ctx.now().toISOString());
  let row = reminderById(ctx, info.lastInsertRowid);
  // A recurring reminder first set for a time already past today starts at its next occurrence.
  if (row.recurrence && Date.parse(row.due_at) <= ctx.now().getTime()) {
    const n = nextOccurrenceIndex(row.anchor_local, zone, row.recurrence, 0, ctx.now());
    ctx.db.prepare("UPDATE reminders SET due_at = ?, fire_count = ? WHERE id = ?").run(toIso(occurrence(row.anchor_local, zone, row.recurrence, n)), n, row.id);
    row = reminderById(ctx, row.id);
  }
  ctx.remindersChanged();
  return row;
}

export const setReminder = defineTool({
  name: "set_reminder",
  description:
    "Set a reminder. `when`: the user's words ('tomorrow at 5pm', 'in 20 minutes') or ISO-8601, in their timezone.",
  schema: () => z.object({
    text: z.string().min(1).max(500),
    when: z.string().min(1),
    recurrence: z.enum(["daily", "weekly", "monthly"]).optional(),
    urgent: z.boolean().optional().describe("may be delivered by a phone call"),
  }),
  run: (ctx, a) => ({ reminder: insertReminder(ctx, a) }),
});

export const listReminders = defineTool({
  name: "list_reminders",
  description: "List pending reminders, soonest first.",
  schema: () => z.object({ includeFired: z.boolean().default(false) }),
  run(ctx, a) {
    const rows = a.includeFired
      ? ctx.db.prepare("SELECT * FROM reminders WHERE status != 'cancelled' ORDER BY due_at").all()
      : ctx.db.prepare("SELECT * FROM reminders WHERE status = 'pending' ORDER BY due_at").all();
    return { reminders: rows as ReminderRow[] };
  },
});

export const cancelReminder = defineTool({
  name: "cancel_reminder",
  description: "Cancel a pending reminder by its id.",
  schema: ById,
  run(ctx, a) {
    const row = reminderById(ctx, a.id, (r) => r.status !== "cancelled");
    ctx.db.prepare("UPDATE reminders SET status = 'cancelled' WHERE id = ?").run(a.id);
    ctx.remindersChanged();
    return { cancelled: { ...row, status: "cancelled" } };
  },
});

export const REMINDER_TOOLS = [setReminder, listReminders, cancelReminder];
