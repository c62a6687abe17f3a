import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai/core/error";

export type ProviderFailure = "rate_limited" | "budget_exhausted" | "provider_down" | "timeout" | "unreachable" | "rejected" | "unknown";

/** Thrown by the brain's own turn deadline, so it reads as a timeout and not as a user abort. */
export class TurnTimeoutError extends Error {
  constructor(ms: number) {
    super(`turn took longer than ${ms} ms`);
    this.name = "TurnTimeoutError";
  }
}

/** Maps anything the openai client throws onto the few cases the user hears about differently. */
export function classifyProviderError(err: unknown): { kind: ProviderFailure; status?: number } {
  if (err instanceof TurnTimeoutError) return { kind: "timeout" };
  if (err instanceof APIConnectionTimeoutError) return { kind: "timeout" };
  if (err instanceof APIUserAbortError) return { kind: "timeout" };
  if (err instanceof APIConnectionError) return { kind: "unreachable" };
  if (err instanceof APIError) {
    const status = err.status;
    if (status === 429) return { kind: "rate_limited", status };
    // The control plane's gateway answers 402 when the user's monthly LLM budget is spent.
    if (status === 402) return { kind: "budget_exhausted", status };
    if (status !== undefined && status >= 500) return { kind: "provider_down", status };
    if (status !== undefined) return { kind: "rejected", status };
  }
  return { kind: "unknown" };
}

/** What the user hears instead of a stack trace: short, kind, in the assistant's voice. */
export function kindReply(kind: ProviderFailure): string {
  switch (kind) {
    case "rate_limited":
      return "I'm getting a lot of requests right now. Give me a minute and ask me again?";
    case "budget_exhausted":
      return "I've used up this month's thinking budget, so I can only do simple things until it resets. Your data is safe.";
    case "timeout":
      return "Sorry, that took me too long to think through. Could you try again?";
    case "provider_down":
    case "unreachable":
      return "My thinking service isn't answering right now. Nothing is lost; please try again in a few minutes.";
    default:
      return "Sorry, something went wrong on my side. Please try again in a moment.";
  }
}

/**
 * Failures that say nothing about the turn itself (the provider or our gateway is away): the turn
 * must run again later, so it is refused with a retryable error rather than answered, and nothing
 * of it (its idempotency record included) is kept. Rate limits, budgets and rejections are answers.
 */
export function isProviderUnavailable(kind: ProviderFailure | undefined): boolean {
  return kind === "provider_down" || kind === "unreachable";
}
