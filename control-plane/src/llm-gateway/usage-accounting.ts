/**
 * What one call used, read from the provider's `usage` object, and what it cost. Chat completions
 * report prompt_tokens/completion_tokens; the newer transcription models report
 * input_tokens/output_tokens. OpenRouter adds `cost` in USD, which is preferred over our prices
 * because it knows the model's real price and any discounts.
 */
export interface UsageNumbers {
  promptTokens: number;
  completionTokens: number;
  /** The provider's own figure, when it reports one. */
  providerCostUsd?: number;
}

export interface Prices {
  priceInputPerMTok: number;
  priceOutputPerMTok: number;
}

const count = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

export function parseUsage(usage: unknown): UsageNumbers | undefined {
  if (!usage || typeof usage !== "object") return undefined;
  const u = usage as Record<string, unknown>;
  const prompt = count(u.prompt_tokens) ?? count(u.input_tokens);
  const completion = count(u.completion_tokens) ?? count(u.output_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const cost = typeof u.cost === "number" && Number.isFinite(u.cost) && u.cost >= 0 ? u.cost : undefined;
  return { promptTokens: prompt ?? 0, completionTokens: completion ?? 0, providerCostUsd: cost };
}

export function costUsd(usage: UsageNumbers, prices: Prices): number {
  if (usage.providerCostUsd !== undefined) return usage.providerCostUsd;
  return (usage.promptTokens * prices.priceInputPerMTok + usage.completionTokens * prices.priceOutputPerMTok) / 1_000_000;
}

/**
 * A rough token count (about four characters a token) for calls whose usage never arrived: a
 * stream the client abandoned before the final usage chunk must still count against the budget,
 * or aborting early would be a way around it.
 */
export function estimateTokens(chars: number): number {
  return Math.ceil(Math.max(0, chars) / 4);
}
