import type { Response as ExpressResponse } from "express";
import type { CallControl } from "./call-control";
import { asOpenAIErrorBody, ClientAbortedError, type GatewayError } from "./gateway-errors";
import { SseUsageTap } from "./sse-usage-tap";
import { parseUsage, type UsageNumbers } from "./usage-accounting";

/** Headers worth relaying from the provider; everything else (cookies, its own auth hints) stays behind. */
const RELAYED = ["retry-after", "retry-after-ms", "x-request-id", "openai-processing-ms"];

function relayHeaders(from: Headers, to: ExpressResponse): void {
  for (const h of RELAYED) {
    const v = from.get(h);
    if (v !== null) to.setHeader(h, v);
  }
}

/**
 * The provider's answer to the operator's credentials (401/403) is not the sandbox's business:
 * passed through, it would read as "your sandbox token is wrong". It becomes a 502.
 */
function statusForSandbox(upstreamStatus: number): number {
  return upstreamStatus === 401 || upstreamStatus === 403 ? 502 : upstreamStatus;
}

/** Characters of generated text in a chat completion (content and tool calls), if it is one. */
function answerChars(parsed: unknown): number | undefined {
  const choices = (parsed as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices)) return undefined;
  let n = 0;
  for (const c of choices as { message?: { content?: unknown; tool_calls?: unknown } }[]) {
    if (typeof c?.message?.content === "string") n += c.message.content.length;
    if (c?.message?.tool_calls) n += JSON.stringify(c.message.tool_calls).length;
  }
  return n;
}

/** A provider's whole (small) answer, read before anything is sent, so it can be metered first. */
export interface BufferedAnswer {
  ok: boolean;
  /** What the sandbox will get: the provider's status, except 401/403 which become 502. */
  httpStatus: number;
  usage?: UsageNumbers;
  /** Characters of text the provider returned, for an estimate when it reports no usage. */
  contentChars: number;
  send(res: ExpressResponse): void;
}

export async function readBuffered(upstream: Response): Promise<BufferedAnswer> {
  const buf = Buffer.from(await upstream.arrayBuffer());
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (upstream.ok) {
    const usage = parsed && typeof parsed === "object" ? parseUsage((parsed as { usage?: unknown }).usage) : undefined;
    return {
      ok: true,
      httpStatus: upstream.status,
      usage,
      contentChars: answerChars(parsed) ?? buf.length,
      send(res) {
        relayHeaders(upstream.headers, res);
        res.status(upstream.status);
        res.setHeader("content-type", upstream.headers.get("content-type") ?? "application/json");
        res.end(buf);
      },
    };
  }
  const status = statusForSandbox(upstream.status);
  const body =
    status === upstream.status
      ? asOpenAIErrorBody(status, parsed)
      : { error: { message: "The LLM provider refused the control plane's credentials.", type: "api_error", param: null, code: "upstream_auth_failed" } };
  return {
    ok: false,
    httpStatus: status,
    contentChars: 0,
    send(res) {
      relayHeaders(upstream.headers, res);
      res.status(status).json(body);
    },
  };
}

/** Writes one chunk, waiting for the socket to drain; throws when the client has gone. */
function write(res: ExpressResponse, chunk: Uint8Array): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.reject(new ClientAbortedError());
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new ClientAbortedError());
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

export interface StreamRelayResult {
  tap: SseUsageTap;
  /** Set when the stream broke after it started: the status line had already gone out as 200. */
  failure?: unknown;
}

/**
 * Passes an SSE stream through chunk by chunk as it arrives (headers flushed first, nothing
 * buffered) while the tap reads usage from it. Each chunk re-arms the deadline, so the limit
 * bounds silence rather than a long answer. A failure mid-stream is reported inside the stream as
 * `data: {"error": ...}`, which the openai client raises as an APIError. The caller ends the
 * response, after metering, so that the next call's budget check already sees this one.
 */
export async function relayStream(
  upstream: Response,
  res: ExpressResponse,
  control: CallControl,
  errorFor: (err: unknown) => GatewayError,
): Promise<StreamRelayResult> {
  res.status(upstream.status);
  res.setHeader("content-type", upstream.headers.get("content-type") ?? "text/event-stream");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  relayHeaders(upstream.headers, res);
  res.flushHeaders();
  const tap = new SseUsageTap();
  try {
    for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
      control.arm();
      tap.feed(chunk);
      await write(res, chunk);
    }
    tap.end();
    return { tap };
  } catch (err) {
    tap.end();
    const failure = control.abortReason() ?? err;
    if (!(failure instanceof ClientAbortedError) && !res.destroyed) {
      const e = errorFor(failure);
      res.write(`data: ${JSON.stringify(e.body())}\n\n`);
    }
    return { tap, failure };
  }
}
