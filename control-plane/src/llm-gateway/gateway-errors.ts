import type { Response } from "express";

/**
 * Errors the gateway answers sandboxes with, in OpenAI's error shape
 * ({ error: { message, type, param, code } }), so the agent's `openai` client raises them as
 * typed APIErrors it can turn into a kind sentence. The admin API keeps its own shape.
 */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class GatewayError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly type: string,
    public readonly code: string | null,
    public readonly param: string | null = null,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export class InvalidSandboxTokenError extends GatewayError {
  constructor() {
    super(401, "Invalid or missing sandbox token.", "invalid_request_error", "invalid_api_key");
  }
}

export class LlmNotConfiguredError extends GatewayError {
  constructor() {
    super(503, "No LLM provider is configured on this Concierge control plane (LLM_BASE_URL is unset).", "service_unavailable", "llm_not_configured");
  }
}

export class ModelNotAllowedError extends GatewayError {
  constructor(model: string, allowed: string[]) {
    super(400, `The model '${model}' is not allowed here. Allowed models: ${allowed.join(", ")}.`, "invalid_request_error", "model_not_allowed", "model");
  }
}

export class BudgetExceededError extends GatewayError {
  constructor(monthlyUsd: number, spentUsd: number) {
    super(
      402,
      `This month's LLM budget of $${monthlyUsd.toFixed(2)} is used up ($${spentUsd.toFixed(2)} spent). It resets at the start of next month (UTC).`,
      "insufficient_quota",
      "budget_exceeded",
    );
  }
}

export class SandboxRateLimitedError extends GatewayError {
  constructor(
    public readonly retryAfterSeconds: number,
    perMinute: number,
  ) {
    super(429, `Rate limit of ${perMinute} requests per minute reached for this sandbox; retry in ${retryAfterSeconds}s.`, "requests", "rate_limit_exceeded", null, {
      "retry-after": String(retryAfterSeconds),
    });
  }
}

export class BadGatewayRequestError extends GatewayError {
  constructor(message: string, param: string | null = null) {
    super(400, message, "invalid_request_error", "invalid_request", param);
  }
}

export class UpstreamTimeoutError extends GatewayError {
  constructor(timeoutMs: number) {
    super(504, `The LLM provider did not answer within ${timeoutMs} ms.`, "api_error", "upstream_timeout");
  }
}

export class UpstreamUnavailableError extends GatewayError {
  constructor() {
    super(502, "The LLM provider could not be reached.", "api_error", "upstream_unavailable");
  }
}

/** The client went away; nothing is sent, the upstream call is aborted. */
export class ClientAbortedError extends Error {
  constructor() {
    super("client closed the connection");
    this.name = "ClientAbortedError";
  }
}

export function sendGatewayError(res: Response, err: GatewayError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json(err.body());
}

/** Any upstream error body, made OpenAI-shaped: kept as-is when it already is, wrapped otherwise. */
export function asOpenAIErrorBody(status: number, raw: unknown): OpenAIErrorBody {
  if (raw && typeof raw === "object" && "error" in raw) {
    const e = (raw as { error: unknown }).error;
    if (e && typeof e === "object" && typeof (e as { message?: unknown }).message === "string") {
      const o = e as Record<string, unknown>;
      return {
        ...(raw as object),
        error: {
          ...o,
          message: o.message as string,
          type: typeof o.type === "string" ? o.type : status >= 500 ? "api_error" : "invalid_request_error",
          param: typeof o.param === "string" ? o.param : null,
          code: typeof o.code === "string" || typeof o.code === "number" ? String(o.code) : null,
        },
      } as OpenAIErrorBody;
    }
  }
  return {
    error: {
      message: `The LLM provider answered with HTTP ${status}.`,
      type: status >= 500 ? "api_error" : "invalid_request_error",
      param: null,
      code: "upstream_error",
    },
  };
}
