import type { Logger } from "pino";
import { fireDueReminders } from "../alarms/reminder-store";
import type { LlmBrain } from "../brain/llm-brain";
import { classifyProviderError } from "../brain/provider-errors";
import type { Db } from "../db/open-database";
import type { Workspace } from "../workspace/workspace";
import { DEFAULT_CHECKLIST, parseChecklist } from "./checklist";
import { evaluateChecklist, recordNudges, type DueItem } from "./checks";

export interface HeartbeatDeps {
  db: Db;
  workspace: Workspace;
  log: Logger;
  brain: LlmBrain | null;
  heartbeatModel?: string;
  timezone(): string;
  systemPrompt(): string;
  remindersChanged(): void;
}

export interface HeartbeatOutcome {
  send: boolean;
  text?: string;
  due: string[];
  llmCalls: number;
  tokens: number;
  nextDueAt: string | null;
}

/** The model's way of saying "nothing worth a message"; never forwarded to the user. */
export const HEARTBEAT_OK = "HEARTBEAT_OK";

export function composePlain(due: DueItem[]): string {
  const header: Partial<Record<DueItem["check"], string>> = {
    "morning-brief": "Good morning! Here's your day:",
    "evening-check": "Evening check-in:",
    "lunch-check": "Did you have lunch? Tell me what you ate and I'll log it.",
  };
  const out: string[] = [];
  for (const d of due) {
    if (d.check === "lunch-check") out.push(header[d.check]!);
    else {
      if (header[d.check]) out.push(header[d.check]!);
      out.push(...d.lines.map((l) => `- ${l}`));
    }
  }
  return out.join("\n");
}

/**
 * heartbeat.run: the checklist is evaluated against the database first; only when something is due
 * does a model write the message (one call). Missed reminders are fired here too, so a lost alarm
 * is caught at the next heartbeat and never delivered twice.
 */
export async function runHeartbeat(deps: HeartbeatDeps, now: Date): Promise<HeartbeatOutcome> {
  const zone = deps.timezone();
  const md = deps.workspace.readOptional("HEARTBEAT.md");
  const items = md === null ? DEFAULT_CHECKLIST : parseChecklist(md);
  const env = { db: deps.db, zone, now };
  const { due, nextDueAt } = evaluateChecklist(env, items);
  if (due.length === 0) return { send: false, due: [], llmCalls: 0, tokens: 0, nextDueAt };

  if (due.some((d) => d.check === "due-reminders")) {
    fireDueReminders(deps.db, now);
    deps.remindersChanged();
  }

  let text = composePlain(due);
  let llmCalls = 0;
  let tokens = 0;
  if (deps.brain) {
    llmCalls = 1;
    try {
      const out = await deps.brain.oneShot({
        model: deps.heartbeatModel,
        system: deps.systemPrompt(),
        user: [
          "This is a scheduled heartbeat, not a message from the user. These checklist items are due now:",
          ...due.map((d) => `[${d.check}]\n${d.lines.join("\n")}`),
          `Write one short, warm WhatsApp message that covers them. If none of it is worth interrupting the user for, reply exactly ${HEARTBEAT_OK}.`,
        ].join("\n\n"),
        maxTokens: 400,
        purpose: "heartbeat",
      });
      tokens = out.tokens;
      if (out.text.includes(HEARTBEAT_OK) || !out.text) {
        recordNudges(env, due.flatMap((d) => d.keys));
        return { send: false, due: due.map((d) => d.check), llmCalls, tokens, nextDueAt };
      }
      text = out.text;
    } catch (err) {
      // The nudge still matters more than its wording: fall back to the plain text.
      deps.log.warn({ kind: classifyProviderError(err).kind }, "heartbeat LLM call failed; sending the plain checklist message");
    }
  }
  recordNudges(env, due.flatMap((d) => d.keys));
  return { send: true, text, due: due.map((d) => d.check), llmCalls, tokens, nextDueAt };
}
