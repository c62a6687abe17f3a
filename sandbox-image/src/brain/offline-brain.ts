import type { ReminderRow } from "../alarms/reminder-store";
import { PAST_DEFAULT_HOUR, resolveTime } from "../time/resolve-time";
import { localLabel, localTimeLabel } from "../tools/format";
import type { SpendingSummary } from "../tools/money-tools";
import type { ToolRegistry } from "../tools/registry";
import type { EventRow } from "../tools/schedule-tools";
import type { TaskRow } from "../tools/task-tools";
import { ToolError, type ToolContext } from "../tools/tool";
import { parseCommand, type Command } from "./offline-parser";

export const OFFLINE_CAPABILITIES = [
  '"remind me to call mom tomorrow at 5pm"',
  '"add task buy milk", "what are my tasks", "done 3"',
  '"spent 12.50 on lunch", "earned 200 from freelance", "what did I spend this week"',
  '"what\'s on my schedule tomorrow", "schedule dentist friday 3pm"',
  '"had pasta for lunch", "remember that I am vegetarian", "list reminders"',
];

export const NOT_CONFIGURED =
  "I don't have a language model connected right now, so I can only understand simple commands. Try: " +
  OFFLINE_CAPABILITIES.join("; ") +
  ".";

const CATEGORY_WORDS: [RegExp, string][] = [
  [/\b(lunch|dinner|breakfast|coffee|restaurant|cafe|food|snack|pizza|burger|takeaway)\b/, "food"],
  [/\b(groceries|grocery|supermarket|market)\b/, "groceries"],
  [/\b(uber|taxi|cab|bus|train|metro|fuel|gas|petrol|parking|flight)\b/, "transport"],
  [/\b(rent|mortgage)\b/, "housing"],
  [/\b(electricity|water|internet|phone bill|utilities)\b/, "utilities"],
  [/\b(movie|cinema|concert|netflix|spotify|game)\b/, "entertainment"],
  [/\b(doctor|pharmacy|medicine|gym)\b/, "health"],
];

function categoryOf(what: string): string {
  for (const [re, cat] of CATEGORY_WORDS) if (re.test(what.toLowerCase())) return cat;
  return "other";
}

/** Splits "call mom tomorrow at 5pm" into the time words and the rest. */
function splitTime(ctx: ToolContext, body: string, forwardDate = true): { when: string | null; rest: string } {
  const r = resolveTime(body, ctx.timezone(), ctx.now(), { forwardDate, defaultHour: forwardDate ? undefined : PAST_DEFAULT_HOUR });
  if (!r || !r.matchedText) return { when: null, rest: body };
  const rest = body
    .replace(r.matchedText, " ")
    .replace(/\s+(at|on|by|in|for)\s*$/i, "")
    .replace(/^\s*(at|on|by|in)\s+/i, "")
    .replace(/\s+,/g, ",")
    .replace(/[\s,;:]+$/, "")
    .replace(/\s+/g, " ")
    .trim();
  return { when: r.matchedText, rest };
}

/**
 * The brain when no LLM is configured: the parser's commands run through the same tools the model
 * would use, and the results are phrased plainly. Deterministic, so it is also what tests lean on.
 */
export class OfflineBrain {
  constructor(
    private readonly tools: ToolRegistry,
    private readonly ctx: ToolContext,
  ) {}

  reply(text: string): string {
    const cmd = parseCommand(text);
    try {
      return this.run(cmd);
    } catch (err) {
      if (err instanceof ToolError) return err.message;
      throw err;
    }
  }

  private call<T>(name: string, args: Record<string, unknown>): T {
    return this.tools.run(this.ctx, name, args) as T;
  }

  private run(cmd: Command): string {
    const zone = this.ctx.timezone();
    switch (cmd.kind) {
      case "set_reminder": {
        const { when, rest } = splitTime(this.ctx, cmd.body);
        if (!when) return `When should I remind you? Try "remind me to ${cmd.body || "call mom"} tomorrow at 5pm".`;
        const what = rest || "your reminder";
        const { reminder } = this.call<{ reminder: ReminderRow }>("set_reminder", { text: what, when, recurrence: cmd.recurrence, urgent: cmd.urgent });
        const every = reminder.recurrence ? ` (${reminder.recurrence}, at ${localTimeLabel(reminder.due_at, zone)})` : "";
        return `OK, I'll remind you to ${reminder.text} on ${localLabel(reminder.due_at, zone)}${every}.`;
      }
      case "list_reminders": {
        const { reminders } = this.call<{ reminders: ReminderRow[] }>("list_reminders", {});
        if (reminders.length === 0) return "You have no reminders set.";
        return ["Your reminders:", ...reminders.map((r) => `#${r.id} ${r.text}: ${localLabel(r.due_at, zone)}${r.recurrence ? ` (${r.recurrence})` : ""}`)].join("\n");
      }
      case "cancel_reminder": {
        const { cancelled } = this.call<{ cancelled: ReminderRow }>("cancel_reminder", { id: cmd.id });
        return `Cancelled the reminder to ${cancelled.text}.`;
      }
      case "add_task": {
        const { task } = this.call<{ task: TaskRow }>("add_task", { title: cmd.title });
        return `Added task #${task.id}: ${task.title}.`;
      }
      case "list_tasks": {
        const { tasks } = this.call<{ tasks: TaskRow[] }>("list_tasks", {});
        if (tasks.length === 0) return "You have no open tasks. Nice!";
        return ["Your open tasks:", ...tasks.map((t) => `#${t.id} ${t.title}${t.due_at ? ` (due ${localLabel(t.due_at, zone)})` : ""}`)].join("\n");
      }
      case "complete_task": {
        const { task, alreadyDone } = this.call<{ task: TaskRow; alreadyDone: boolean }>("complete_task", { id: cmd.id });
        return alreadyDone ? `Task #${task.id} (${task.title}) was already done.` : `Done: ${task.title}. ✓`;
      }
      case "delete_task": {
        const { deleted } = this.call<{ deleted: TaskRow }>("delete_task", { id: cmd.id });
        return `Deleted task #${deleted.id}: ${deleted.title}.`;
      }
      case "log_expense": {
        const { when, rest } = splitTime(this.ctx, cmd.what, false);
        const { expense } = this.call<{ expense: { formatted: string } }>("log_expense", {
          amount: cmd.amount,
          currency: cmd.currency,
          category: categoryOf(rest),
          description: rest,
          date: when ?? undefined,
        });
        return `Logged ${expense.formatted} on ${rest} (${categoryOf(rest)}).`;
      }
      case "log_income": {
        const { when, rest } = splitTime(this.ctx, cmd.what, false);
        const { income } = this.call<{ income: { formatted: string } }>("log_income", {
          amount: cmd.amount,
          currency: cmd.currency,
          source: rest.split(" ")[0] || "other",
          description: rest,
          date: when ?? undefined,
        });
        return `Logged ${income.formatted} of income${rest ? ` from ${rest}` : ""}.`;
      }
      case "spending_summary": {
        const s = this.call<SpendingSummary>("spending_summary", { period: cmd.period });
        if (s.currencies.length === 0) return `Nothing spent ${s.period}.`;
        return s.currencies
          .map((c) => {
            const cats = c.byCategory.map((b) => `${b.category} ${b.formatted}`).join(", ");
            const earned = c.earnedMinor > 0 ? ` Earned ${c.earned}.` : "";
            return `You spent ${c.spent} ${s.period}${cats ? ` (${cats})` : ""}.${earned}`;
          })
          .join("\n");
      }
      case "list_events": {
        const { period, events } = this.call<{ period: string; events: EventRow[] }>("list_events", { period: cmd.period });
        if (events.length === 0) return `Nothing on your schedule ${period}.`;
        return [`Your schedule ${period}:`, ...events.map((e) => `${localLabel(e.starts_at, zone)}-${localTimeLabel(e.ends_at, zone)} ${e.title}${e.location ? ` @ ${e.location}` : ""}`)].join("\n");
      }
      case "add_event": {
        const { when, rest } = splitTime(this.ctx, cmd.body);
        if (!when) return `When is it? Try "schedule ${cmd.body} tomorrow at 3pm".`;
        const out = this.call<{ created: boolean; event?: EventRow; message?: string }>("add_event", { title: rest || "Event", start: when });
        if (!out.created) return `${out.message} Should I book it anyway? Say it again with a different time, or ask me to move the other one.`;
        return `Added to your schedule: ${out.event!.title}, ${localLabel(out.event!.starts_at, zone)}-${localTimeLabel(out.event!.ends_at, zone)}.`;
      }
      case "log_meal": {
        const { meal } = this.call<{ meal: { mealType: string } }>("log_meal", { description: cmd.what, mealType: cmd.mealType, calories: cmd.calories });
        return `Logged ${meal.mealType}: ${cmd.what}${cmd.calories ? ` (${cmd.calories} kcal)` : ""}.`;
      }
      case "nutrition_summary": {
        const s = this.call<{ period: string; meals: number; totals: { calories: number } }>("nutrition_summary", { period: cmd.period });
        if (s.meals === 0) return `No meals logged ${s.period}.`;
        return `${s.meals} meal${s.meals === 1 ? "" : "s"} logged ${s.period}${s.totals.calories ? `, ${s.totals.calories} kcal` : ""}.`;
      }
      case "remember": {
        const { memory } = this.call<{ memory: { alreadyKnown: boolean } }>("remember", { fact: cmd.fact });
        return memory.alreadyKnown ? "I already knew that." : "Got it, I'll remember that.";
      }
      case "recall": {
        const { facts } = this.call<{ facts: { fact: string }[] }>("recall", { query: cmd.query });
        if (facts.length === 0) return cmd.query ? `I don't have anything about "${cmd.query}".` : "I don't know much about you yet. Tell me with \"remember that ...\".";
        return ["Here's what I know:", ...facts.map((f) => `- ${f.fact}`)].join("\n");
      }
      case "help":
        return `Hi! I can keep track of things for you. Try: ${OFFLINE_CAPABILITIES.join("; ")}.`;
      case "unknown":
        return NOT_CONFIGURED;
    }
  }
}
