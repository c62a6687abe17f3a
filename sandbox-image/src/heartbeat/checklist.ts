/**
 * HEARTBEAT.md's machine-checkable items. Each is a list line starting with a code span naming the
 * check and its setting, followed by prose for the model:
 *
 *   - `morning-brief 08:00-09:00` Once a day in this window: today's events, tasks, reminders.
 *
 * The user (or the assistant) edits the file to change a window or delete a check; unknown names
 * are ignored so a typo never breaks the heartbeat.
 */
export type CheckItem =
  | { check: "due-reminders"; graceMinutes: number; note: string }
  | { check: "overdue-tasks"; note: string }
  | { check: "upcoming-event"; minutesAhead: number; note: string }
  | { check: "morning-brief"; start: string; end: string; note: string }
  | { check: "lunch-check"; after: string; note: string }
  | { check: "evening-check"; start: string; end: string; note: string };

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export const DEFAULT_CHECKLIST: CheckItem[] = [
  { check: "due-reminders", graceMinutes: 5, note: "" },
  { check: "overdue-tasks", note: "" },
  { check: "upcoming-event", minutesAhead: 30, note: "" },
  { check: "morning-brief", start: "08:00", end: "09:00", note: "" },
  { check: "lunch-check", after: "14:00", note: "" },
  { check: "evening-check", start: "20:00", end: "21:00", note: "" },
];

function window(arg: string | undefined): { start: string; end: string } | null {
  const m = arg?.match(/^(\d{2}:\d{2})-(\d{2}:\d{2})$/);
  if (!m || !HHMM.test(m[1]!) || !HHMM.test(m[2]!) || m[1]! >= m[2]!) return null;
  return { start: m[1]!, end: m[2]! };
}

export function parseChecklist(markdown: string): CheckItem[] {
  const items: CheckItem[] = [];
  for (const line of markdown.split("\n")) {
    const m = line.match(/^\s*[-*]\s+`([a-z-]+)(?:\s+([^`]*))?`\s*(.*)$/);
    if (!m) continue;
    const [, name, rawArg, note = ""] = m;
    const arg = rawArg?.trim();
    switch (name) {
      case "due-reminders":
        items.push({ check: "due-reminders", graceMinutes: arg && /^\d+$/.test(arg) ? Number(arg) : 5, note });
        break;
      case "overdue-tasks":
        items.push({ check: "overdue-tasks", note });
        break;
      case "upcoming-event":
        items.push({ check: "upcoming-event", minutesAhead: arg && /^\d+$/.test(arg) ? Number(arg) : 30, note });
        break;
      case "morning-brief":
      case "evening-check": {
        const w = window(arg);
        if (w) items.push({ check: name, ...w, note });
        break;
      }
      case "lunch-check":
        if (arg && HHMM.test(arg)) items.push({ check: "lunch-check", after: arg, note });
        break;
    }
  }
  return items;
}
