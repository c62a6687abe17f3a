import type { Logger } from "pino";
import type { ToolRegistry } from "../tools/registry";
import { ToolError, type ToolContext } from "../tools/tool";
import type { PromptParts, PromptStyle } from "../workspace/system-prompt";
import type { ConversationHistory } from "./conversation-history";
import type { ChatMessage, LlmClient } from "./llm-client";
import { classifyProviderError, kindReply, TurnTimeoutError, type ProviderFailure } from "./provider-errors";

export interface BrainOptions {
  llm: LlmClient;
  tools: ToolRegistry;
  toolContext: ToolContext;
  history: ConversationHistory;
  /** The stable part opens the request; the per-turn part (the time) goes right before the user's message. */
  systemPrompt: (style: PromptStyle) => PromptParts;
  log: Logger;
  /** Model round trips per turn; the last one is forced to answer in words. */
  maxIterations?: number;
  turnTimeoutMs?: number;
  /** Fold old messages into the summary once the unsummarised history is longer than this. */
  compactAboveChars?: number;
  /** Characters of recent history sent verbatim with each turn. */
  recentChars?: number;
}

export interface TurnInput {
  channel: string;
  text: string;
  style: "chat" | "voice";
  now: Date;
  onDelta?: (text: string) => void;
}

export interface TurnOutcome {
  reply: string;
  llmCalls: number;
  tokens: number;
  failure?: ProviderFailure;
}

export class LlmBrain {
  private readonly maxIterations: number;
  private readonly turnTimeoutMs: number;
  private readonly compactAboveChars: number;
  private readonly recentChars: number;

  constructor(private readonly o: BrainOptions) {
    this.maxIterations = o.maxIterations ?? 8;
    this.turnTimeoutMs = o.turnTimeoutMs ?? o.llm.options.timeoutMs ?? 90_000;
    this.compactAboveChars = o.compactAboveChars ?? 16_000;
    this.recentChars = o.recentChars ?? 8_000;
  }

  get model(): string {
    return this.o.llm.options.model;
  }

  /** One conversational turn: the tool loop, under one deadline. Never throws provider errors. */
  async turn(input: TurnInput): Promise<TurnOutcome> {
    const { history, log } = this.o;
    const prompt = this.o.systemPrompt(input.style);
    // Stable first (system prompt, then the history as it was), what changes per turn last: the
    // provider's prompt cache can then reuse everything up to the new turn.
    const messages: ChatMessage[] = [
      { role: "system", content: prompt.stable },
      ...history.recent(this.recentChars).map((m): ChatMessage => ({ role: m.role, content: m.content })),
      { role: "system", content: prompt.now },
      { role: "user", content: input.text },
    ];
    history.append(input.channel, "user", input.text, input.now);

    let llmCalls = 0;
    let tokens = 0;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TurnTimeoutError(this.turnTimeoutMs)), this.turnTimeoutMs);
    timer.unref?.();
    try {
      let reply = "";
      for (let i = 0; i < this.maxIterations; i++) {
        const last = i === this.maxIterations - 1;
        llmCalls++;
        const out = await this.o.llm.complete({
          model: this.model,
          messages,
          tools: this.o.tools.openAiTools(),
          // On the last round the model must answer with what it has instead of calling more tools.
          toolChoice: last ? "none" : "auto",
          stream: true,
          onDelta: input.onDelta,
          signal: controller.signal,
        });
        tokens += out.tokens;
        if (out.toolCalls.length === 0 || last) {
          reply = out.content.trim();
          break;
        }
        messages.push({
          role: "assistant",
          content: out.content || null,
          tool_calls: out.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
        });
        for (const call of out.toolCalls) {
          messages.push({ role: "tool", tool_call_id: call.id, content: this.runTool(call.name, call.arguments) });
        }
      }
      if (!reply) reply = "Done.";
      history.append(input.channel, "assistant", reply, input.now);
      const compaction = await this.compactIfNeeded(input.now, controller.signal);
      return { reply, llmCalls: llmCalls + compaction.llmCalls, tokens: tokens + compaction.tokens };
    } catch (err) {
      const { kind, status } = classifyProviderError(err);
      if (kind === "unknown") log.error({ err }, "chat turn failed");
      else log.warn({ kind, status, llmCalls }, "LLM provider failed during a chat turn");
      return { reply: kindReply(kind), llmCalls, tokens, failure: kind };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one tool for the model. Failures become a JSON error the model can read and recover from. */
  private runTool(name: string, args: string): string {
    try {
      return this.o.tools.runJson(this.o.toolContext, name, args);
    } catch (err) {
      if (err instanceof ToolError) return JSON.stringify({ error: err.message });
      this.o.log.error({ err, tool: name }, "tool crashed");
      return JSON.stringify({ error: `The ${name} tool failed unexpectedly.` });
    }
  }

  /** A single completion without tools (heartbeat messages, summaries). Provider errors propagate. */
  async oneShot(req: { system: string; user: string; model?: string; maxTokens?: number; signal?: AbortSignal; purpose?: "chat" | "heartbeat" }): Promise<{ text: string; tokens: number }> {
    const signal = req.signal ?? AbortSignal.timeout(this.turnTimeoutMs);
    const out = await this.o.llm.complete({
      model: req.model ?? this.model,
      messages: [
        { role: "system", content: req.system },
        { role: "user", content: req.user },
      ],
      maxTokens: req.maxTokens,
      signal,
      purpose: req.purpose,
    });
    return { text: out.content.trim(), tokens: out.tokens };
  }

  /**
   * Folds all but the recent tail of the history into the running summary. A failure here is only
   * logged: the turn already has its reply, and the next turn will try again.
   */
  async compactIfNeeded(now: Date, signal?: AbortSignal): Promise<{ llmCalls: number; tokens: number }> {
    const { history } = this.o;
    if (history.unsummarisedChars() <= this.compactAboveChars) return { llmCalls: 0, tokens: 0 };
    const keep = new Set(history.recent(this.recentChars / 2).map((m) => m.id));
    const fold = history.unsummarised().filter((m) => !keep.has(m.id));
    if (fold.length === 0) return { llmCalls: 0, tokens: 0 };
    const previous = history.summary()?.summary ?? "(none yet)";
    const transcript = fold.map((m) => `[${m.created_at} ${m.channel}] ${m.role}: ${m.content}`).join("\n");
    try {
      const out = await this.oneShot({
        system:
          "You keep a running summary of a personal assistant's conversation with its user. Merge the previous summary with the new messages. Keep commitments, preferences, open questions, names, dates and amounts; drop small talk. At most 300 words, plain text.",
        user: `Previous summary:\n${previous}\n\nNew messages:\n${transcript}`,
        signal,
      });
      if (out.text) history.saveSummary(out.text, fold[fold.length - 1]!.id, now);
      return { llmCalls: 1, tokens: out.tokens };
    } catch (err) {
      this.o.log.warn({ kind: classifyProviderError(err).kind }, "history compaction failed; will retry next turn");
      return { llmCalls: 1, tokens: 0 };
    }
  }
}
