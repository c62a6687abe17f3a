import type { ReminderRow } from "../../alarms/reminder-store";
import { localLabel, localTimeLabel } from "../../tools/format";
import { onNamed, type Act, type Intent, type Recogniser } from "./intent";
import { pickByName } from "./match-by-name";
import { timeIn } from "./when";

type Recurrence = "daily" | "weekly" | "monthly";

const SET = /^(?:please\s+)?(?:remind me|set (?:a |an )?(?:reminder|alarm)|reminder|ping me|nudge me|don'?t let me forget|make sure i (?:don'?t forget|remember))\b\s*(?:to\s+|about\s+|that\s+|of\s+|for\s+|:\s*)?(.*)$/i;
const LIST = /^(?:(?:what|which|list|show|see|any|tell me)\b.*\breminders?\b|(?:my|all|list) reminders?|reminders\??|what (?:did|have) i (?:ask|asked|told) you to remind me)/i;
const CANCEL = /^(?:cancel|delete|remove|drop|forget|clear|stop)\s+(?:the\s+|my\s+)?(?:reminder|reminders|reminding me)\b\s*(?:#|number\s+)?(.*)$|^(?:cancel|delete|remove|drop)\s+(?:the\s+|my\s+)?(.+?)\s+reminder$/i;

function recurrenceOf(body: string): { recurrence?: Recurrence; body: string } {
  // "daily"/"weekly" only as a frequency, not in "the weekly report".
  const end = String.raw`(?=\s*(?:$|,|on\b|at\b|from\b|in\b|starting\b))`;
  const rules: [RegExp, Recurrence, string][] = [
    [/\bevery (monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b/i, "weekly", " on $1 "],
    [new RegExp(String.raw`\b(?:every ?day|each day|every (?:morning|evening|night))\b|\bdaily${end}`, "i"), "daily", " "],
    [new RegExp(String.raw`\b(?:every ?week|each week)\b|\bweekly${end}`, "i"), "weekly", " "],
    [new RegExp(String.raw`\b(?:every ?month|each month)\b|\bmonthly${end}`, "i"), "monthly", " "],
  ];
  for (const [re, recurrence, repl] of rules) if (re.test(body)) return { recurrence, body: body.replace(re, repl) };
  return { body };
}

function setReminder(body: string): Intent {
  return {
    domain: "reminders",
    run(act) {
      const urgent = /\b(?:urgent(?:ly)?|important|asap)\b/i.test(body);
      let text = body.replace(/[,\s]*\b(?:it'?s |this is |very )?(?:urgent(?:ly)?|important|asap)\b/gi, " ");
      if (/\bevery (?:\d+ |few |couple of )?(?:minutes?|hours?)\b|\bhourly\b/i.test(text)) {
        return "I can repeat a reminder every day, week or month, but not every few hours. Tell me one time, or a daily time.";
      }
      const rec = recurrenceOf(text);
      // "every morning" without a time means the morning.
      if (rec.recurrence === "daily" && /\bevery morning\b/i.test(text) && !/\d/.test(text)) rec.body += " at 8am";
      if (rec.recurrence === "daily" && /\bevery (?:evening|night)\b/i.test(text) && !/\d/.test(text)) rec.body += " at 8pm";
      const t = timeIn(act, rec.body);
      if (!t) return `When should I remind you? Try "remind me to ${text.trim() || "call mom"} tomorrow at 5pm".`;
      text = t.rest.replace(/^(?:to|about|that)\s+/i, "");
      const { reminder } = act.call<{ reminder: ReminderRow }>("set_reminder", { text: text || "Reminder", when: t.when, recurrence: rec.recurrence, urgent: urgent || undefined });
      const every = reminder.recurrence ? ` (${reminder.recurrence}, at ${localTimeLabel(reminder.due_at, act.zone)})` : "";
      return `OK, I'll remind you${text ? ` to ${reminder.text}` : ""} on ${localLabel(reminder.due_at, act.zone)}${every}.`;
    },
  };
}

function pending(act: Act): ReminderRow[] {
  return act.call<{ reminders: ReminderRow[] }>("list_reminders", {}).reminders;
}

/** A reminder named by its number ("#3") or by words from its text. */
function find(act: Act, which: string): ReminderRow | string {
  const id = which.match(/^#?(\d+)$/);
  if (id) return { id: Number(id[1]) } as ReminderRow;
  const name = which.replace(/^(?:to|about|for|that)\s+/i, "");
  return pickByName(pending(act), name, (r) => r.text, (r) => `#${r.id} ${r.text}`, `I couldn't find a reminder about "${name}". Say "list reminders" to see them.`);
}

function cancel(which: string): Intent {
  return onNamed("reminders", (act) => find(act, which), (act, target) => {
    const { cancelled } = act.call<{ cancelled: ReminderRow }>("cancel_reminder", { id: target.id });
    return `Cancelled the reminder to ${cancelled.text}.`;
  });
}

const list: Intent = {
  domain: "reminders",
  run(act) {
    const reminders = pending(act);
    if (reminders.length === 0) return "You have no reminders set.";
    return ["Your reminders:", ...reminders.map((r) => `#${r.id} ${r.text}: ${localLabel(r.due_at, act.zone)}${r.recurrence ? ` (${r.recurrence})` : ""}`)].join("\n");
  },
};

export const recogniseReminder: Recogniser = (said) => {
  // "in an hour remind me to move the car": the time said first goes after the request.
  const at = said.search(/\bremind me\b/i);
  const clause = at > 0 ? `${said.slice(at)} ${said.slice(0, at).replace(/[,\s]+$/, "")}` : said;
  let m = clause.match(CANCEL);
  if (m) return cancel((m[1] ?? m[2] ?? "").trim());
  if (LIST.test(clause)) return list;
  m = clause.match(SET);
  if (m) return setReminder(m[1]!.trim());
  return null;
};
