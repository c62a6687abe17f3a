import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import type { ChatRequestBody } from "./fake-openai";

/**
 * Prompt tokens of one recorded Chat Completions request, counted with a real BPE tokenizer
 * (o200k_base, the GPT-4o family's encoding, via gpt-tokenizer; it runs offline). Messages follow
 * OpenAI's published rule (3 tokens of framing per message, 3 to prime the reply). Providers do
 * not publish how they render tool definitions, so the tools are counted as their JSON text, which
 * is longer than the rendering they use: the figure errs high, never low.
 */
export function promptTokens(body: ChatRequestBody): { total: number; messages: number; tools: number } {
  let messages = 3;
  for (const m of body.messages) {
    messages += 3 + countTokens(m.role);
    if (typeof m.content === "string") messages += countTokens(m.content);
    if (m.tool_calls) messages += countTokens(JSON.stringify(m.tool_calls));
  }
  const tools = body.tools && body.tools.length > 0 ? countTokens(JSON.stringify(body.tools)) : 0;
  return { total: messages + tools, messages, tools };
}

/**
 * The part of a request a provider's prompt cache can reuse from the previous turn: the tools and
 * the first (stable) system message, as exact bytes.
 */
export function stablePrefix(body: ChatRequestBody): string {
  return JSON.stringify({ model: body.model, tools: body.tools ?? [], system: body.messages[0] });
}
