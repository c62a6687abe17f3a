import type { Logger } from "pino";
import type { z } from "zod/v4";
import type { MethodParamsParsed } from "@concierge/protocol";
import type { ConversationHistory } from "../brain/conversation-history";
import type { LlmBrain } from "../brain/llm-brain";
import type { OfflineBrain } from "../brain/offline-brain";
import { classifyProviderError } from "../brain/provider-errors";

type Params = MethodParamsParsed<"call.turn">;

/** The brains and history one call's turns run with. */
export interface CallBrains {
  brain: LlmBrain | null;
  offline: OfflineBrain;
  history: ConversationHistory;
}

export interface CallDeps extends CallBrains {
  /** The same for a limited caller: only LIMITED_CALL_TOOLS, no personal context (calls/call-trust.ts). */
  limited(callSid: string): CallBrains;
  log: Logger;
  userName(): string | null;
  voicePrompt(): string;
}

const GOODBYE = /^(?:ok(?:ay)?,?\s+)?(?:bye|goodbye|good bye|that'?s all|that is all|nothing else|no thanks?,? that'?s it|hang up)\b/i;

/** Text said aloud: no markdown, no list dashes, no line breaks. */
export function speakable(text: string): string {
  return text
    .replace(/#(\d+)/g, "number $1")
    .replace(/[*_`#>]/g, "")
    .replace(/^\s*[-•]\s*/gm, "")
    // A line break is a pause: a full stop unless the line already ended in punctuation.
    .replace(/([:.!?,;])?\s*\n+\s*/g, (_m, p: string | undefined) => (p ? `${p} ` : ". "))
    .trim();
}

/**
 * call.turn: a phone call in three phases. Turns are ordinary chat turns on the "voice" channel with
 * the spoken style; the end produces a short summary that also lands in the conversation history.
 */
export async function handleCallTurn(deps: CallDeps, p: Params, now: Date): Promise<{ reply: string; hangUp: boolean; llmCalls: number }> {
  if (p.phase === "start") {
    // Even the user's name is personal data a spoofed caller must not hear.
    const name = p.trust === "full" ? deps.userName() : null;
    return { reply: `Hi${name ? ` ${name}` : ""}, it's your assistant. How can I help?`, hangUp: false, llmCalls: 0 };
  }
  if (p.phase === "turn") {
    const text = p.text.trim();
    if (!text) return { reply: "Sorry, I didn't catch that. Could you say it again?", hangUp: false, llmCalls: 0 };
    if (GOODBYE.test(text)) return { reply: "Okay, talk soon. Bye!", hangUp: true, llmCalls: 0 };
    const { brain, offline, history } = p.trust === "full" ? deps : deps.limited(p.callSid);
    if (brain) {
      const out = await brain.turn({ channel: "voice", text, style: "voice", now });
      return { reply: speakable(out.reply), hangUp: false, llmCalls: out.llmCalls };
    }
    history.append("voice", "user", text, now);
    const reply = speakable(offline.reply(text));
    history.append("voice", "assistant", reply, now);
    return { reply, hangUp: false, llmCalls: 0 };
  }

  // phase "end"
  const transcript = p.transcript ?? [];
  const callerLines = transcript.filter((t) => t.role === "caller" && t.text.trim());
  let summary = callerLines.length
    ? `Call summary: you asked about ${callerLines.map((t) => `"${t.text.trim()}"`).slice(0, 5).join(", ")}.`
    : "Call summary: a short call, nothing was asked.";
  let llmCalls = 0;
  if (deps.brain && callerLines.length > 0) {
    llmCalls = 1;
    try {
      const out = await deps.brain.oneShot({
        system: "Summarise this phone call between a user and their assistant in one to three sentences: what was asked, what was done, anything left open. Plain text.",
        user: transcript.map((t) => `${t.role}: ${t.text}`).join("\n").slice(-30_000),
        maxTokens: 300,
      });
      if (out.text) summary = `Call summary: ${out.text}`;
    } catch (err) {
      deps.log.warn({ kind: classifyProviderError(err).kind }, "call summary LLM call failed; using the plain summary");
    }
  }
  deps.history.append("voice", "assistant", summary, now);
  return { reply: summary, hangUp: true, llmCalls };
}
