import type { Request, RequestHandler, Response } from "express";
import { admitWithinBudget, readPurpose, runCall, startCall, type GatewayContext, type LlmSettings } from "./gateway-context";
import { BadGatewayRequestError, ClientAbortedError, GatewayError, ModelNotAllowedError, UpstreamTimeoutError } from "./gateway-errors";
import { readBuffered, relayStream } from "./relay";
import { policeChatRequest } from "./request-policy";
import { costUsd, estimateTokens, type UsageNumbers } from "./usage-accounting";
import type { UsageStatus } from "./usage-store";

/** A missing model means the configured one (the heartbeat model for heartbeats); others must be on the allowlist. */
export function resolveModel(requested: unknown, purpose: string | null, llm: LlmSettings): string {
  if (requested === undefined || requested === null || requested === "") return purpose === "heartbeat" ? llm.heartbeatModel : llm.model;
  if (typeof requested !== "string") throw new BadGatewayRequestError("'model' must be a string.", "model");
  if (!llm.allowedModels.includes(requested)) throw new ModelNotAllowedError(requested, llm.allowedModels);
  return requested;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** POST /chat/completions: model policy, budget, then the provider, streamed or not. */
export function chatCompletionsHandler(ctx: GatewayContext): RequestHandler {
  return async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (!isObject(body)) throw new BadGatewayRequestError("The request body must be a JSON object.");
    if (!Array.isArray(body.messages)) throw new BadGatewayRequestError("'messages' must be an array.", "messages");
    const purpose = readPurpose(req);
    const model = resolveModel(body.model, purpose, ctx.llm);
    const policed = policeChatRequest(body, model, { maxOutputTokens: ctx.policy.maxOutputTokens });
    const call = startCall(res, "chat.completions", model, purpose);
    const stream = body.stream === true;
    const payload = JSON.stringify(policed.body);
    const promptChars = JSON.stringify(body.messages).length;
    // The most this call can cost: its prompt (estimated) and every completion token it may ask for.
    const maxCost = costUsd({ promptTokens: estimateTokens(promptChars), completionTokens: policed.maxOutputTokens }, ctx.policy);
    const release = await admitWithinBudget(ctx, call, maxCost);

    await runCall(ctx, call, res, release, async (control) => {
      const { response } = await ctx.upstream.send(
        { path: "/chat/completions", body: () => payload, replayable: true, contentType: "application/json", accept: stream ? "text/event-stream" : "application/json" },
        control,
      );
      const isSse = (response.headers.get("content-type") ?? "").includes("text/event-stream");
      if (response.ok && isSse) {
        const { tap, failure } = await relayStream(response, res, control, (err) =>
          err instanceof GatewayError ? err : new GatewayError(502, "The LLM provider's stream broke off.", "api_error", "upstream_stream_error"),
        );
        const estimated = !tap.usage;
        const usage: UsageNumbers = tap.usage ?? { promptTokens: estimateTokens(promptChars), completionTokens: estimateTokens(tap.contentChars) };
        const status: UsageStatus =
          failure === undefined ? (tap.streamError ? "upstream_error" : "ok") : failure instanceof ClientAbortedError ? "aborted" : failure instanceof UpstreamTimeoutError ? "timeout" : "failed";
        await ctx.meter.record(call, { status, httpStatus: response.status, usage, estimated });
        if (!res.destroyed) res.end();
        return;
      }
      const answer = await readBuffered(response);
      const estimated = answer.ok && !answer.usage;
      const usage = answer.usage ?? (answer.ok ? { promptTokens: estimateTokens(promptChars), completionTokens: estimateTokens(answer.contentChars) } : undefined);
      await ctx.meter.record(call, { status: answer.ok ? "ok" : "upstream_error", httpStatus: answer.httpStatus, usage, estimated });
      answer.send(res);
    });
  };
}
