import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import type { Logger } from "pino";
import type { LlmOptions } from "./llm-options";

export type ChatMessage = ChatCompletionMessageParam;

export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

export interface Completion {
  content: string;
  toolCalls: ToolCallRequest[];
  tokens: number;
  finishReason: string | null;
}

export interface CompleteRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatCompletionTool[];
  toolChoice?: "auto" | "none";
  /** Stream the answer; `onDelta` gets each piece of visible text as it arrives. */
  stream?: boolean;
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
  maxTokens?: number;
  /** Sent as x-concierge-purpose so the gateway meters heartbeats apart from chat. */
  purpose?: "chat" | "heartbeat";
}

/**
 * The agent's one door to a model: the openai client aimed at the control plane's gateway, with
 * the sandbox token as its key. No retries here: the gateway and the control plane's queue own
 * retry policy, and a retry inside a turn would double a user's wait and their bill.
 */
export class LlmClient {
  private readonly client: OpenAI;

  constructor(
    readonly options: LlmOptions,
    private readonly log: Logger,
  ) {
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey,
      maxRetries: 0,
      timeout: options.timeoutMs ?? 60_000,
    });
  }

  async complete(req: CompleteRequest): Promise<Completion> {
    const base = {
      model: req.model,
      messages: req.messages,
      ...(req.tools && req.tools.length > 0 ? { tools: req.tools, tool_choice: req.toolChoice ?? "auto" } : {}),
      ...(req.maxTokens ? { max_tokens: req.maxTokens } : {}),
    };
    const options = { signal: req.signal, headers: { "x-concierge-purpose": req.purpose ?? "chat" } };
    if (!req.stream) {
      const res = await this.client.chat.completions.create({ ...base, stream: false }, options);
      const choice = res.choices[0];
      const calls: ToolCallRequest[] = [];
      for (const tc of choice?.message.tool_calls ?? []) {
        if (tc.type === "function") calls.push({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments });
      }
      return { content: choice?.message.content ?? "", toolCalls: calls, tokens: res.usage?.total_tokens ?? 0, finishReason: choice?.finish_reason ?? null };
    }

    const stream = await this.client.chat.completions.create(
      { ...base, stream: true, stream_options: { include_usage: true } },
      options,
    );
    let content = "";
    let tokens = 0;
    let finishReason: string | null = null;
    // Tool calls arrive in pieces keyed by index: the id and name first, then the arguments JSON
    // in fragments that only parse once joined.
    const calls = new Map<number, ToolCallRequest>();
    for await (const chunk of stream) {
      if (chunk.usage) tokens = chunk.usage.total_tokens ?? tokens;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.finish_reason) finishReason = choice.finish_reason;
      const delta = choice.delta;
      if (delta?.content) {
        content += delta.content;
        req.onDelta?.(delta.content);
      }
      for (const tc of delta?.tool_calls ?? []) {
        let acc = calls.get(tc.index);
        if (!acc) {
          acc = { id: "", name: "", arguments: "" };
          calls.set(tc.index, acc);
        }
        if (tc.id) acc.id = tc.id;
        if (tc.function?.name) acc.name += tc.function.name;
        if (tc.function?.arguments) acc.arguments += tc.function.arguments;
      }
    }
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([i, c]) => ({ ...c, id: c.id || `call_${i}` }));
    this.log.debug({ tokens, toolCalls: toolCalls.length, finishReason }, "streamed completion");
    return { content, toolCalls, tokens, finishReason };
  }
}
