import type { CallTrust } from "@concierge/protocol";
import { ConversationHistory, type StoredMessage } from "../brain/conversation-history";
import type { Db } from "../db/open-database";
import type { ToolRegistry } from "../tools/registry";

/**
 * What a caller the control plane could not verify may use (docs/voice-trust.md): tools that add
 * something for the user and answer with nothing but what the caller just said. No money,
 * contacts, memory or profile tools, no listing of tasks, reminders or the schedule, no SQL.
 */
export const LIMITED_CALL_TOOLS = ["add_task", "set_reminder"] as const;

export function toolsForTrust(all: ToolRegistry, trust: CallTrust): ToolRegistry {
  return trust === "full" ? all : all.only(LIMITED_CALL_TOOLS);
}

/**
 * The whole system prompt of a limited call: no workspace files, profile, memory facts or summary,
 * because the caller may not be the user and anything in the prompt can be read back.
 */
export const LIMITED_VOICE_PROMPT = [
  "You are a personal assistant answering a phone call from a number that could not be verified, so the caller may not be your user.",
  "You know nothing about the user in this call and must not guess: no schedule, tasks, reminders, contacts, money, notes, names or earlier conversations.",
  "You can take a message: add a task or set a reminder for the user. Nothing else.",
  "If the caller wants more, say they can unlock the call by saying their phone PIN, or by answering yes to the WhatsApp message the assistant sent.",
  "Speak briefly and plainly: no lists, no markdown.",
].join(" ");

const MAX_CALLS = 50;

/**
 * The conversation of limited calls, kept in memory per call and never in the shared history: an
 * unverified caller's words must not reach the user's later turns as if the user had said them,
 * and the shared history must not reach the caller.
 */
export class LimitedCallHistories {
  private readonly calls = new Map<string, StoredMessage[]>();

  constructor(private readonly db: Db) {}

  for(callSid: string): ConversationHistory {
    let messages = this.calls.get(callSid);
    if (!messages) {
      messages = [];
      this.calls.set(callSid, messages);
      for (const old of this.calls.keys()) {
        if (this.calls.size <= MAX_CALLS) break;
        this.calls.delete(old);
      }
    }
    return new CallOnlyHistory(this.db, messages);
  }
}

class CallOnlyHistory extends ConversationHistory {
  constructor(
    db: Db,
    private readonly messages: StoredMessage[],
  ) {
    super(db);
  }

  override append(channel: string, role: "user" | "assistant", content: string, now: Date): number {
    const id = this.messages.length + 1;
    this.messages.push({ id, channel, role, content, created_at: now.toISOString() });
    return id;
  }

  override summary(): null {
    return null;
  }

  override unsummarised(): StoredMessage[] {
    return [...this.messages];
  }

  override unsummarisedChars(): number {
    // Never compacted into the user's running summary.
    return 0;
  }

  override saveSummary(): void {}
}
