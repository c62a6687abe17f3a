import type { ToolRegistry } from "../../tools/registry";
import { ToolError, type ToolContext } from "../../tools/tool";
import { recogniseContact } from "./contacts";
import { Act, type Intent, type Recogniser } from "./intent";
import { recogniseMeal } from "./meals";
import { recogniseMemory } from "./memory";
import { recogniseMoney } from "./money";
import { recogniseProfile } from "./profile";
import { recogniseReminder } from "./reminders";
import { recogniseSchedule } from "./schedule";
import { segment } from "./segment";
import { recogniseSmallTalk } from "./small-talk";
import { closestExample } from "./suggest";
import { recogniseTask } from "./tasks";

/**
 * Tried in this order; the first that knows a clause takes it. Explicit words win over guesses:
 * "remind me" before anything with a time, contacts (phone numbers) before amounts, money (a
 * currency) before meals ("lunch was 9,80 €"), meals and the schedule before free-form facts.
 */
const RECOGNISERS: Recogniser[] = [recogniseSmallTalk, recogniseProfile, recogniseReminder, recogniseTask, recogniseContact, recogniseMoney, recogniseSchedule, recogniseMeal, recogniseMemory];

export interface Understanding {
  reply: string;
  /** Each clause and what became of it. */
  parts: { clause: string; domain: Intent["domain"] | null }[];
  /** True when every clause was understood. */
  handled: boolean;
}

export function recognise(clause: string, act: Act): Intent | null {
  for (const r of RECOGNISERS) {
    const intent = r(clause, act);
    if (intent) return intent;
  }
  return null;
}

/** Not understood: say so in one line, with the closest thing that would work. */
export const NO_MODEL = "I don't have a language model connected right now, so I can't do that one.";

function notUnderstood(clauses: string[], alone: boolean): string {
  const example = closestExample(clauses.join(" "));
  if (alone) return `${NO_MODEL} The closest I can do is something like ${example}.`;
  return `I didn't understand ${clauses.map((c) => `"${c}"`).join(" or ")}; try something like ${example}.`;
}

/**
 * The offline understanding layer: a message is cut into requests, each request goes to the first
 * recogniser that knows it, each runs through the same tools the model uses, and the reply says
 * what was done, and which parts were not understood.
 */
export class OfflineUnderstanding {
  constructor(
    private readonly tools: ToolRegistry,
    private readonly ctx: ToolContext,
  ) {}

  understand(message: string): Understanding {
    const act = new Act(this.tools, this.ctx);
    const clauses = segment(message);
    const parts = clauses.map((clause) => ({ clause, intent: recognise(clause, act) }));
    const real = parts.filter((p) => p.intent && !p.intent.filler);
    const missed = parts.filter((p) => !p.intent).map((p) => p.clause);
    const replies: string[] = [];
    const run = real.length > 0 ? real : parts.filter((p) => p.intent);
    for (const p of run) {
      try {
        replies.push(p.intent!.run(act));
      } catch (err) {
        if (err instanceof ToolError) replies.push(err.message);
        else throw err;
      }
    }
    if (missed.length > 0) replies.push(notUnderstood(missed, run.length === 0));
    return {
      reply: replies.join("\n") || notUnderstood([message], true),
      parts: parts.map((p) => ({ clause: p.clause, domain: p.intent?.domain ?? null })),
      handled: missed.length === 0 && parts.length > 0,
    };
  }
}
