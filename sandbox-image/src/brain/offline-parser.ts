import type { Period } from "../time/periods";

/**
 * The offline brain's grammar: a handful of everyday commands recognised without a model. Pure:
 * it only sorts a sentence into a command with its raw parts; times are resolved when it runs.
 */
export type Command =
  | { kind: "set_reminder"; body: string; recurrence?: "daily" | "weekly" | "monthly"; urgent: boolean }
  | { kind: "list_reminders" }
  | { kind: "cancel_reminder"; id: number }
  | { kind: "add_task"; title: string }
  | { kind: "list_tasks" }
  | { kind: "complete_task"; id: number }
  | { kind: "delete_task"; id: number }
  | { kind: "log_expense"; amount: number; currency?: string; what: string }
  | { kind: "log_income"; amount: number; currency?: string; what: string }
  | { kind: "spending_summary"; period: Period }
  | { kind: "list_events"; period: Period }
  | { kind: "add_event"; body: string }
  | { kind: "log_meal"; what: string; mealType?: "breakfast" | "lunch" | "dinner" | "snack"; calories?: number }
  | { kind: "nutrition_summary"; period: Period }
  | { kind: "remember"; fact: string }
  | { kind: "recall"; query?: string }
  | { kind: "help" }
  | { kind: "unknown" };

const SYMBOLS: Record<string, string> = { $: "USD", "€": "EUR", "£": "GBP", "₹": "INR", "¥": "JPY" };
const WORDS: Record<string, string> = { dollar: "USD", euro: "EUR", pound: "GBP", rupee: "INR", yen: "JPY" };
const KNOWN_CURRENCIES = new Set(typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : []);

function currencyOf(symbol?: string, word?: string): string | undefined {
  if (symbol && SYMBOLS[symbol]) return SYMBOLS[symbol];
  if (!word) return undefined;
  const w = word.toLowerCase().replace(/s$/, "");
  if (WORDS[w]) return WORDS[w];
  const code = word.toUpperCase();
  return KNOWN_CURRENCIES.has(code) ? code : undefined;
}

const AMOUNT = String.raw`(?<sym>[$€£₹¥])?\s*(?<amt>\d+(?:[.,]\d{1,3})?)\s*(?<cur>[a-z]{3}\b|dollars?|euros?|pounds?|rupees?|yen)?`;

function periodIn(text: string, fallback: Period): Period {
  if (/\btoday\b/.test(text)) return "today";
  if (/\byesterday\b/.test(text)) return "yesterday";
  if (/\btomorrow\b/.test(text)) return "tomorrow";
  if (/\blast week\b/.test(text)) return "last_week";
  if (/\bnext (7 days|week)\b/.test(text)) return "next_7_days";
  if (/\bthis week\b|\bweek\b/.test(text)) return "this_week";
  if (/\blast month\b/.test(text)) return "last_month";
  if (/\bthis month\b|\bmonth\b/.test(text)) return "this_month";
  if (/\bthis year\b|\byear\b/.test(text)) return "this_year";
  return fallback;
}

function amount(raw: string): number {
  return Number(raw.replace(",", "."));
}

export function parseCommand(input: string): Command {
  const text = input.trim().replace(/\s+/g, " ").replace(/[.!?]+$/, "");
  const t = text.toLowerCase();
  let m: RegExpMatchArray | null;

  if ((m = text.match(/^(?:please\s+)?remind me\s+(?:to\s+|about\s+|that\s+)?(.+)$/i))) {
    let body = m[1]!;
    let recurrence: "daily" | "weekly" | "monthly" | undefined;
    const rec: [RegExp, "daily" | "weekly" | "monthly"][] = [
      [/\b(every ?day|daily|each day)\b/i, "daily"],
      [/\b(every ?week|weekly|each week)\b/i, "weekly"],
      [/\b(every ?month|monthly|each month)\b/i, "monthly"],
    ];
    for (const [re, r] of rec) {
      if (re.test(body)) {
        recurrence = r;
        body = body.replace(re, " ");
      }
    }
    const every = body.match(/\bevery (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b/i);
    if (every) {
      recurrence = "weekly";
      body = body.replace(/\bevery\b/i, "on");
    }
    const urgent = /\b(urgent(ly)?|important)\b/i.test(body);
    body = body.replace(/\b(it'?s )?(urgent(ly)?|important)\b/gi, " ");
    return { kind: "set_reminder", body: body.replace(/\s+/g, " ").replace(/[\s,;:]+$/, "").trim(), recurrence, urgent };
  }
  if ((m = t.match(/^(?:cancel|delete|remove)\s+reminder\s+#?(\d+)$/))) return { kind: "cancel_reminder", id: Number(m[1]) };
  if (/^(what|which|list|show|any|my|see)\b.*\breminders?\b/.test(t) || t === "reminders") return { kind: "list_reminders" };

  if ((m = t.match(/^(?:done|complete|completed|finish|finished|mark|tick off)\s+(?:task\s+)?#?(\d+)(?:\s+(?:as\s+)?(?:done|complete))?$/)))
    return { kind: "complete_task", id: Number(m[1]) };
  if ((m = t.match(/^task\s+#?(\d+)\s+(?:is\s+)?(?:done|complete|finished)$/))) return { kind: "complete_task", id: Number(m[1]) };
  if ((m = t.match(/^(?:delete|remove)\s+task\s+#?(\d+)$/))) return { kind: "delete_task", id: Number(m[1]) };
  if ((m = text.match(/^(?:add\s+(?:a\s+)?(?:task|to-?do)|new\s+task|to-?do|task)\s*:?\s+(.+)$/i))) return { kind: "add_task", title: m[1]!.trim() };
  if ((m = text.match(/^add\s+(.+?)\s+to\s+my\s+(?:tasks|task list|to-?do(?:\s+list)?|list)$/i))) return { kind: "add_task", title: m[1]!.trim() };
  if (/^(what|which|list|show|any|my|see)\b.*\b(tasks?|to-?dos?|to-?do list)\b/.test(t) || /^(tasks|to-?dos?)$/.test(t)) return { kind: "list_tasks" };

  if ((m = t.match(new RegExp(`^(?:i\\s+)?(?:spent|spend|paid|pay)\\s+${AMOUNT}\\s*(?:on|for|at)\\s+(?<what>.+)$`, "u"))))
    return { kind: "log_expense", amount: amount(m.groups!.amt!), currency: currencyOf(m.groups!.sym, m.groups!.cur), what: m.groups!.what!.trim() };
  if ((m = t.match(new RegExp(`^(?:log\\s+)?expense:?\\s+${AMOUNT}\\s*(?:on|for|at)?\\s*(?<what>.*)$`, "u"))))
    return { kind: "log_expense", amount: amount(m.groups!.amt!), currency: currencyOf(m.groups!.sym, m.groups!.cur), what: m.groups!.what!.trim() || "expense" };
  if ((m = t.match(new RegExp(`^(?:i\\s+)?(?:earned|received|got paid|got|made|income(?:\\s+of)?)\\s+${AMOUNT}\\s*(?:from|for|as|in)?\\s*(?<what>.*)$`, "u"))))
    return { kind: "log_income", amount: amount(m.groups!.amt!), currency: currencyOf(m.groups!.sym, m.groups!.cur), what: m.groups!.what!.trim() || "income" };
  if (/^(what|how much|show|list|my)\b.*\b(spen[dt]|spending|expenses)\b/.test(t)) return { kind: "spending_summary", period: periodIn(t, "this_week") };

  if (/^(what|what's|whats|show|list|my|any|do i have)\b.*\b(schedule|calendar|agenda|events?|meetings?|plans?)\b/.test(t))
    return { kind: "list_events", period: periodIn(t, "today") };
  if ((m = text.match(/^(?:add\s+(?:an?\s+)?(?:event|meeting|appointment)|schedule|book)\s*:?\s+(.+)$/i))) return { kind: "add_event", body: m[1]!.trim() };

  if (/^(how many|what|show|my)\b.*\b(calories|nutrition|protein|meals?|eat|ate)\b/.test(t) && !/^(i )?(ate|had)\b/.test(t))
    return { kind: "nutrition_summary", period: periodIn(t, "today") };
  if ((m = text.match(/^(?:log\s+(?:a\s+)?meal|meal)\s*:?\s+(.+)$/i)) || (m = text.match(/^(?:i\s+)?(?:ate|had|eaten)\s+(.+)$/i))) {
    let what = m[1]!;
    let mealType: "breakfast" | "lunch" | "dinner" | "snack" | undefined;
    const mt = what.match(/\s+(?:for|as)\s+(?:a\s+|my\s+)?(breakfast|lunch|dinner|snack)\b/i);
    if (mt) {
      mealType = mt[1]!.toLowerCase() as typeof mealType;
      what = what.replace(mt[0], "");
    }
    let calories: number | undefined;
    const cal = what.match(/[,(]?\s*(\d{2,5})\s*(?:kcal|cal(?:ories)?)\)?/i);
    if (cal) {
      calories = Number(cal[1]);
      what = what.replace(cal[0], "");
    }
    return { kind: "log_meal", what: what.trim(), mealType, calories };
  }

  if ((m = text.match(/^remember(?:\s+that)?\s*:?\s+(.+)$/i))) return { kind: "remember", fact: m[1]!.trim() };
  if (/^what do you (know|remember)\b/.test(t)) return { kind: "recall" };
  if ((m = text.match(/^recall\s*(.*)$/i))) return { kind: "recall", query: m[1]!.trim() || undefined };

  if (/^(help|hi|hello|hey|start|menu|what can you do)\b/.test(t)) return { kind: "help" };
  return { kind: "unknown" };
}
