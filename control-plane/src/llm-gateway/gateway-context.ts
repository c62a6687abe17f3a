import type { Request, Response } from "express";
import type { Clock } from "../clock";
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { BudgetService } from "./budget-service";
import { CallControl } from "./call-control";
import {
  BudgetExceededError,
  ClientAbortedError,
  GatewayError,
  sendGatewayError,
  UpstreamTimeoutError,
} from "./gateway-errors";
import type { SandboxIdentity } from "./sandbox-authenticator";
import type { UpstreamClient } from "./upstream-client";
import type { Endpoint, MeteredCall, UsageMeter } from "./usage-meter";

export type LlmSettings = NonNullable<Config["llm"]>;

/** What the endpoint handlers share; built once per gateway when a provider is configured. */
export interface GatewayContext {
  llm: LlmSettings;
  policy: Config["llmPolicy"];
  clock: Clock;
  log: Logger;
  meter: UsageMeter;
  budgets: BudgetService;
  upstream: UpstreamClient;
}

const PURPOSES = new Set(["chat", "heartbeat"]);

/** x-concierge-purpose, when it is one we know; anything else is ignored rather than stored. */
export function readPurpose(req: Request): string | null {
  const v = String(req.headers["x-concierge-purpose"] ?? "").trim().toLowerCase();
  return PURPOSES.has(v) ? v : null;
}

export function identityOf(res: Response): SandboxIdentity {
  return res.locals.sandbox as SandboxIdentity;
}

export function startCall(res: Response, endpoint: Endpoint, model: string, purpose: string | null): MeteredCall {
  return { identity: identityOf(res), endpoint, model, purpose, startedAt: performance.now() };
}

/**
 * Admits the call against the user's monthly budget, reserving its maximum cost (see
 * BudgetService.reserve), or refuses it; a refusal is metered so the operator sees it. The
 * returned release must run once the call's usage row is written.
 */
export async function admitWithinBudget(ctx: GatewayContext, call: MeteredCall, maxCostUsd: number): Promise<() => Promise<void>> {
  const admission = await ctx.budgets.reserve(call.identity.userId, maxCostUsd);
  if (admission.admitted) {
    const release = admission.release;
    return () => release().catch((err) => ctx.log.error({ err, userId: call.identity.userId }, "could not release an LLM budget reservation"));
  }
  const status = admission.status;
  await ctx.meter.record(call, { status: "budget_exceeded", httpStatus: 402 });
  ctx.log.info({ userId: call.identity.userId, sandboxId: call.identity.sandboxId, monthlyUsd: status.monthlyUsd, spentUsd: status.spentUsd }, "LLM call refused: budget spent");
  throw new BudgetExceededError(status.monthlyUsd, status.spentUsd);
}

/**
 * Runs one admitted provider call under its own deadline: the sandbox's client going away aborts
 * the provider call too; a failure before any answer went out is metered and answered once; the
 * budget reservation is released only after the usage row is written.
 */
export async function runCall(
  ctx: GatewayContext,
  call: MeteredCall,
  res: Response,
  release: () => Promise<void>,
  work: (control: CallControl) => Promise<void>,
): Promise<void> {
  const control = new CallControl(ctx.clock, ctx.policy.timeoutMs);
  res.on("close", () => {
    if (!res.writableFinished) control.clientClosed();
  });
  try {
    await work(control);
  } catch (err) {
    await failCall(ctx, call, res, control.abortReason() ?? err);
  } finally {
    control.done();
    await release();
  }
}

/**
 * A call that failed before any answer went out: meter it, then answer in OpenAI's shape (or not
 * at all when the client has gone). Unknown errors are logged and become a plain 500.
 */
async function failCall(ctx: GatewayContext, call: MeteredCall, res: Response, err: unknown): Promise<void> {
  if (err instanceof ClientAbortedError) {
    await ctx.meter.record(call, { status: "aborted", httpStatus: 499 });
    return;
  }
  const gatewayError =
    err instanceof GatewayError ? err : new GatewayError(500, "The LLM gateway failed to handle this request.", "api_error", "internal_error");
  if (!(err instanceof GatewayError)) ctx.log.error({ err, sandboxId: call.identity.sandboxId }, "LLM gateway call failed");
  const status = err instanceof UpstreamTimeoutError ? "timeout" : "failed";
  await ctx.meter.record(call, { status, httpStatus: gatewayError.status });
  sendGatewayError(res, gatewayError);
}
