import type { Logger } from "pino";
import { LIMITED_VOICE_PROMPT, LimitedCallHistories } from "../calls/call-trust";
import type { CallBrains } from "../calls/call-turn";
import type { Db } from "../db/open-database";
import type { ToolRegistry } from "../tools/registry";
import type { ToolContext } from "../tools/tool";
import { nowPart, type PromptParts, type PromptStyle } from "../workspace/system-prompt";
import type { ConversationHistory } from "./conversation-history";
import type { BrainOptions, LlmBrain } from "./llm-brain";
import type { LlmOptions } from "./llm-options";
import { OfflineBrain } from "./offline-brain";

/** The agent's brains: the user's own, and those of a caller the control plane could not verify. */
export interface Brains extends CallBrains {
  /** A limited caller's: the limited tools, a prompt with nothing of the user in it, and a history of that call alone. */
  limited(callSid: string): CallBrains;
}

export interface BrainsInput {
  /** Absent: no model is configured and every brain is the offline one. */
  llm?: LlmOptions;
  db: Db;
  tools: ToolRegistry;
  /** What a limited caller may use (calls/call-trust.ts). */
  limitedTools: ToolRegistry;
  toolContext: ToolContext;
  history: ConversationHistory;
  systemPrompt: (style: PromptStyle) => PromptParts;
  log: Logger;
}

export function createBrains(o: BrainsInput): Brains {
  // The model client (and the openai package behind it) is loaded only when a model is configured:
  // an offline agent never pays for it at start.
  const makeBrain = o.llm ? modelBrains(o.llm, o.log) : null;
  const limitedHistories = new LimitedCallHistories(o.db);
  const limitedOffline = new OfflineBrain(o.limitedTools, o.toolContext);
  const { now, timezone } = o.toolContext;
  return {
    brain: makeBrain?.({ tools: o.tools, toolContext: o.toolContext, history: o.history, systemPrompt: o.systemPrompt, log: o.log.child({ component: "brain" }) }) ?? null,
    offline: new OfflineBrain(o.tools, o.toolContext),
    history: o.history,
    limited(callSid) {
      const history = limitedHistories.for(callSid);
      const brain =
        makeBrain?.({
          tools: o.limitedTools,
          toolContext: o.toolContext,
          history,
          systemPrompt: () => ({ stable: LIMITED_VOICE_PROMPT, now: nowPart(now(), timezone()) }),
          log: o.log.child({ component: "brain", trust: "limited" }),
        }) ?? null;
      return { brain, offline: limitedOffline, history };
    },
  };
}

/** One model client for the agent, and a maker of brains on it (the full one, a limited call's). */
function modelBrains(llm: LlmOptions, log: Logger): (o: Omit<BrainOptions, "llm">) => LlmBrain {
  const { LlmBrain } = require("./llm-brain") as typeof import("./llm-brain");
  const { LlmClient } = require("./llm-client") as typeof import("./llm-client");
  const client = new LlmClient(llm, log.child({ component: "llm" }));
  return (o) => new LlmBrain({ llm: client, ...o });
}
