import express, { type ErrorRequestHandler, type RequestHandler, type Router } from "express";
import type { Registry } from "prom-client";
import { systemClock, type Clock } from "../clock";
import type { Config } from "../config";
import type { Db } from "../db/database";
import type { Logger } from "../logger";
import type { RetryPolicy } from "../retry";
import { BudgetService, type BudgetStatus } from "./budget-service";
import { chatCompletionsHandler } from "./chat-completions";
import type { GatewayContext } from "./gateway-context";
import {
  BudgetExceededError,
  GatewayError,
  InvalidSandboxTokenError,
  LlmNotConfiguredError,
  ModelNotAllowedError,
  sendGatewayError,
  SandboxRateLimitedError,
} from "./gateway-errors";
import { createGatewayMetrics } from "./gateway-metrics";
import { monthOf, type Period } from "./period";
import { SandboxRateLimiter } from "./rate-limiter";
import { SandboxAuthenticator } from "./sandbox-authenticator";
import { transcriptionsHandler } from "./transcriptions";
import { UpstreamClient } from "./upstream-client";
import { UsageMeter } from "./usage-meter";
import { usageSummary, type UsageSummary } from "./usage-store";

/** A bounded metric label for a path: scanners must not mint a time series per URL they try. */
function endpointLabel(path: string): string {
  if (path === "/chat/completions") return "chat.completions";
  if (path === "/audio/transcriptions") return "audio.transcriptions";
  if (path === "/models") return "models";
  return "other";
}

export interface LlmGatewayOptions {
  db: Db;
  /** The provider; unset means every call answers 503 and agents fall back to their offline parser. */
  llm: Config["llm"];
  policy: Config["llmPolicy"];
  logger: Logger;
  metrics: Registry;
  clock?: Clock;
  /** How long a resolved sandbox token is trusted before it is looked up again (default 5 s). */
  authCacheMs?: number;
  upstreamRetry?: RetryPolicy;
  /** A provider 429 asking to wait at most this long is waited out once (default 2 s). */
  maxRetryAfterMs?: number;
  /** Largest chat-completions body accepted (images travel inline as base64). */
  jsonLimit?: string;
}

export interface LlmGateway {
  /** Mount at /llm/v1. */
  router: Router;
  /** The sandbox service calls forget(sandboxId) when it deletes or re-keys a sandbox. */
  authenticator: SandboxAuthenticator;
  budgets: BudgetService;
  /** One user's usage this month (or in `period`) with their budget: what GET /sandbox/:id/usage shows. */
  usageReport(userId: string, period?: Period): Promise<UsageSummary & { budget: BudgetStatus }>;
}

/**
 * The OpenAI-compatible gateway sandboxes talk to instead of a provider: it authenticates each
 * call by the sandbox's own token, enforces the model allowlist, the user's monthly budget and the
 * sandbox's rate limit, forwards to the provider with the operator's key (which never leaves this
 * process), and meters what every call used.
 */
export function createLlmGateway(opts: LlmGatewayOptions): LlmGateway {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger.child({ component: "llm-gateway" });
  const metrics = createGatewayMetrics(opts.metrics);
  const authenticator = new SandboxAuthenticator(opts.db, clock, opts.authCacheMs);
  const budgets = new BudgetService(opts.db, clock, opts.policy.monthlyBudgetUsd);
  const meter = new UsageMeter(opts.db, clock, opts.policy, metrics, log);
  const limiter = new SandboxRateLimiter(opts.policy.rateLimitPerMinute, clock);
  const ctx: GatewayContext | undefined = opts.llm
    ? {
        llm: opts.llm,
        policy: opts.policy,
        clock,
        log,
        meter,
        budgets,
        upstream: new UpstreamClient({
          baseUrl: opts.llm.baseUrl,
          apiKey: opts.llm.apiKey,
          clock,
          logger: log,
          retryPolicy: opts.upstreamRetry,
          maxRetryAfterMs: opts.maxRetryAfterMs,
        }),
      }
    : undefined;

  const router = express.Router();

  const authenticate: RequestHandler = async (req, res, next) => {
    const identity = await authenticator.fromAuthorizationHeader(req.headers.authorization);
    if (!identity) {
      meter.refused(endpointLabel(req.path), "unauthorized");
      sendGatewayError(res, new InvalidSandboxTokenError());
      return;
    }
    res.locals.sandbox = identity;
    next();
  };
  const requireProvider: RequestHandler = (req, res, next) => {
    if (ctx) return next();
    meter.refused(endpointLabel(req.path), "not_configured");
    sendGatewayError(res, new LlmNotConfiguredError());
  };
  const rateLimit: RequestHandler = (req, res, next) => {
    const waitSeconds = limiter.take(res.locals.sandbox.sandboxId);
    if (waitSeconds === 0) return next();
    meter.refused(endpointLabel(req.path), "rate_limited");
    sendGatewayError(res, new SandboxRateLimitedError(waitSeconds, limiter.limitPerMinute));
  };

  router.use(authenticate, requireProvider);
  router.get("/models", (_req, res) => {
    res.json({ object: "list", data: ctx!.llm.allowedModels.map((id) => ({ id, object: "model", created: 0, owned_by: "concierge" })) });
  });
  if (ctx) {
    router.post("/chat/completions", rateLimit, express.json({ limit: opts.jsonLimit ?? "20mb" }), chatCompletionsHandler(ctx));
    router.post("/audio/transcriptions", rateLimit, transcriptionsHandler(ctx));
  }
  router.use((req, res) => {
    sendGatewayError(res, new GatewayError(404, `Unknown LLM gateway route: ${req.method} ${req.path}`, "invalid_request_error", "unknown_url"));
  });

  // Everything here answers in OpenAI's error shape, body-parser's errors included.
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (err instanceof GatewayError) {
      // A budget refusal was metered (row and counter) where it was decided.
      if (!(err instanceof BudgetExceededError)) meter.refused(endpointLabel(req.path), err instanceof ModelNotAllowedError ? "model_not_allowed" : "bad_request");
      sendGatewayError(res, err);
      return;
    }
    const status = typeof err?.status === "number" && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) log.error({ err, path: req.path }, "LLM gateway error");
    meter.refused(endpointLabel(req.path), status === 500 ? "failed" : "bad_request");
    sendGatewayError(
      res,
      status === 500
        ? new GatewayError(500, "The LLM gateway failed to handle this request.", "api_error", "internal_error")
        : new GatewayError(status, status === 413 ? "The request body is too large." : "The request body is not valid JSON.", "invalid_request_error", "invalid_request"),
    );
  };
  router.use(onError);

  return {
    router,
    authenticator,
    budgets,
    async usageReport(userId, period) {
      const [summary, budget] = await Promise.all([usageSummary(opts.db, userId, period ?? monthOf(clock.now())), budgets.status(userId)]);
      return { ...summary, budget };
    },
  };
}
