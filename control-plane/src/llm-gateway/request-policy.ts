import { BadGatewayRequestError } from "./gateway-errors";

/**
 * What a sandbox may ask a provider for. The body is rebuilt from an allow-list rather than
 * forwarded: on OpenRouter `models[]` would bypass the model allow-list, `plugins` would give a
 * sandbox web access, `provider`/`route` pick other backends, `store` keeps the user's messages at
 * the provider, and `n` or a huge `max_tokens` multiply the cost of one call. A field outside the
 * list is refused with a 400 naming it, so an agent (or whoever prompt-injected it) learns nothing
 * reached the provider.
 */
const CHAT_FIELDS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "stop",
  "seed",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
  "n",
]);

/** Choices per call: agents read one; more would bill several answers for one turn. */
export const MAX_CHOICES = 1;

/** Form fields a transcription upload may carry (OpenAI's /audio/transcriptions). */
export const TRANSCRIPTION_FIELDS = new Set(["file", "model", "language", "prompt", "response_format", "temperature"]);

/** Largest audio upload relayed, in bytes: OpenAI's own limit (25 MB). */
export const MAX_TRANSCRIPTION_BYTES = 25 * 1024 * 1024;

export interface ChatRequestLimits {
  /** Cap on max_tokens / max_completion_tokens; also what a call without either gets. */
  maxOutputTokens: number;
}

export interface PolicedChatRequest {
  body: Record<string, unknown>;
  /** The most completion tokens the provider may produce: what the budget reserves for. */
  maxOutputTokens: number;
}

function tokenLimit(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new BadGatewayRequestError(`'${field}' must be a positive whole number.`, field);
  return v;
}

/**
 * The body to forward: only allow-listed fields, `model` as resolved, `n` at most MAX_CHOICES, and
 * the output token limit clamped to the cap (set to the cap when absent, so the provider can never
 * produce more than the budget reserved). Streams always ask for usage.
 */
export function policeChatRequest(body: Record<string, unknown>, model: string, limits: ChatRequestLimits): PolicedChatRequest {
  for (const field of Object.keys(body)) {
    if (!CHAT_FIELDS.has(field)) throw new BadGatewayRequestError(`The field '${field}' is not accepted by this gateway.`, field);
  }
  if (body.n !== undefined && body.n !== null && (typeof body.n !== "number" || !Number.isInteger(body.n) || body.n < 1 || body.n > MAX_CHOICES)) {
    throw new BadGatewayRequestError(`'n' must be at most ${MAX_CHOICES}.`, "n");
  }
  const asked = tokenLimit(body, "max_completion_tokens") ?? tokenLimit(body, "max_tokens");
  const maxOutputTokens = Math.min(asked ?? limits.maxOutputTokens, limits.maxOutputTokens);
  const outgoing: Record<string, unknown> = { ...body, model };
  // Whichever name the agent used is the one forwarded (some providers know only max_tokens).
  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) outgoing.max_completion_tokens = maxOutputTokens;
  else outgoing.max_tokens = maxOutputTokens;
  // Usage on streams comes only when asked for, in one last chunk with empty choices.
  if (body.stream === true) outgoing.stream_options = { include_usage: true };
  else delete outgoing.stream_options;
  return { body: outgoing, maxOutputTokens };
}
