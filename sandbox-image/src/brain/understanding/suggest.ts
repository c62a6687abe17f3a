import { findAmount } from "./amount";
import type { Domain } from "./intent";

/** One example per domain, in the words that work, and the words that hint at that domain. */
const EXAMPLES: [Domain, RegExp, string][] = [
  ["reminders", /\b(?:remind|reminder|alarm|forget|ping|nudge|wake)\b/i, '"remind me to call mom tomorrow at 5pm"'],
  ["tasks", /\b(?:task|todo|to-do|list|done|finish|need to)\b/i, '"add task buy milk" or "done 3"'],
  ["money", /\b(?:spen[dt]|paid|pay|cost|money|budget|expense|income|earn|salary|bought|price|[$€£¥₹]|eur|usd)\b/i, '"spent 12.50 on lunch" or "what did I spend this week"'],
  ["schedule", /\b(?:schedule|calendar|meeting|appointment|event|book|agenda|free|busy|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow)\b/i, '"coffee with Lea on tuesday 10 to 11am" or "what\'s on wednesday?"'],
  ["meals", /\b(?:ate|eat|food|meal|lunch|dinner|breakfast|snack|calories|kcal|protein|diet)\b/i, '"had pasta for lunch, 600 kcal"'],
  ["contacts", /\b(?:contact|number|phone|email|call|reach)\b/i, '"save Lea\'s number +49 176 1234567" or "what\'s Lea\'s number?"'],
  ["memory", /\b(?:remember|know|my name|favou?rite|birthday|wife|husband|sister|brother|mom|dad)\b/i, '"remember that I\'m vegetarian" or "what do you know about me?"'],
];

/** The closest thing the offline assistant can do for words it did not understand. */
export function closestExample(text: string): string {
  // A currency anywhere ("20 dollars", "5 €") points at money before any other word does.
  if (findAmount(text)?.currency) return EXAMPLES.find(([d]) => d === "money")![2];
  for (const [, re, example] of EXAMPLES) if (re.test(text)) return example;
  return EXAMPLES[0]![2];
}
