import type { Request, RequestHandler, Response } from "express";
import { CallControl } from "./call-control";
import { abortOnClientClose, admitWithinBudget, failCall, readPurpose, startCall, type GatewayContext } from "./gateway-context";
import { BadGatewayRequestError } from "./gateway-errors";
import { readBuffered } from "./relay";

/**
 * Finds one plain form field's value in a multipart body as it streams past, without buffering
 * the body: only a short tail is kept between chunks, in case the field straddles two of them.
 */
export class MultipartFieldSniffer {
  value: string | undefined;
  private tail = "";
  private readonly pattern: RegExp;

  constructor(field: string) {
    this.pattern = new RegExp(`name="${field}"[^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([^\\r\\n]{1,200})\\r\\n`);
  }

  feed(chunk: Buffer): void {
    if (this.value !== undefined) return;
    // latin1 maps bytes one to one, so binary file data cannot break the scan.
    const text = this.tail + chunk.toString("latin1");
    const m = this.pattern.exec(text);
    if (m) {
      this.value = Buffer.from(m[1]!, "latin1").toString("utf8");
      this.tail = "";
      return;
    }
    this.tail = text.slice(-512);
  }
}

async function* teeInto(req: Request, sniffer: MultipartFieldSniffer): AsyncGenerator<Buffer> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    sniffer.feed(chunk);
    yield chunk;
  }
}

/**
 * POST /audio/transcriptions: the multipart upload is streamed to the provider unchanged, with its
 * own content-type (boundary included). Because the body is never parsed, the model field is not
 * policed here (it is read in passing, for metering); budgets and the rate limit still apply. A
 * streamed upload cannot be replayed, so this call gets one attempt, never a retry.
 */
export function transcriptionsHandler(ctx: GatewayContext): RequestHandler {
  return async (req: Request, res: Response) => {
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
      throw new BadGatewayRequestError("The request body must be multipart/form-data.");
    }
    const sniffer = new MultipartFieldSniffer("model");
    const call = startCall(res, "audio.transcriptions", "unknown", readPurpose(req));
    await admitWithinBudget(ctx, call);

    const control = new CallControl(ctx.clock, ctx.policy.timeoutMs);
    abortOnClientClose(res, control);
    try {
      const { response } = await ctx.upstream.send(
        {
          path: "/audio/transcriptions",
          body: () => teeInto(req, sniffer),
          replayable: false,
          contentType,
          contentLength: req.headers["content-length"],
          accept: "application/json",
        },
        control,
      );
      const answer = await readBuffered(response);
      call.model = sniffer.value ?? "unknown";
      await ctx.meter.record(call, { status: answer.ok ? "ok" : "upstream_error", httpStatus: answer.httpStatus, usage: answer.usage });
      answer.send(res);
    } catch (err) {
      call.model = sniffer.value ?? "unknown";
      await failCall(ctx, call, res, control.abortReason() ?? err);
    } finally {
      control.done();
    }
  };
}
