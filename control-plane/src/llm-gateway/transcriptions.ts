import type { Request, RequestHandler, Response } from "express";
import { admitWithinBudget, readPurpose, runCall, startCall, type GatewayContext } from "./gateway-context";
import { BadGatewayRequestError, GatewayError } from "./gateway-errors";
import { readBuffered } from "./relay";
import { MAX_TRANSCRIPTION_BYTES, TRANSCRIPTION_FIELDS } from "./request-policy";

class UploadTooLargeError extends GatewayError {
  constructor() {
    super(413, `The upload is larger than ${MAX_TRANSCRIPTION_BYTES / (1024 * 1024)} MB.`, "invalid_request_error", "request_too_large");
  }
}

/** The whole upload, refused as soon as it passes the cap (declared or counted). */
async function readCapped(req: Request): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > MAX_TRANSCRIPTION_BYTES) throw new UploadTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TRANSCRIPTION_BYTES) throw new UploadTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses the form only to check it: every field on the allow-list, and a file. */
async function checkedForm(body: Buffer, contentType: string): Promise<FormData> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new BadGatewayRequestError("The request body is not a valid multipart form.");
  }
  for (const field of form.keys()) {
    if (!TRANSCRIPTION_FIELDS.has(field)) throw new BadGatewayRequestError(`The field '${field}' is not accepted by this gateway.`, field);
  }
  if (!(form.get("file") instanceof Blob)) throw new BadGatewayRequestError("'file' is required.", "file");
  return form;
}

/**
 * POST /audio/transcriptions: the multipart upload is read whole (up to MAX_TRANSCRIPTION_BYTES),
 * its fields checked against the allow-list, and then forwarded byte for byte with its own
 * content-type (boundary included). Budgets and the rate limit apply; the model field is read for
 * metering, not policed (transcription models are not chat models).
 */
export function transcriptionsHandler(ctx: GatewayContext): RequestHandler {
  return async (req: Request, res: Response) => {
    const contentType = req.headers["content-type"] ?? "";
    if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
      throw new BadGatewayRequestError("The request body must be multipart/form-data.");
    }
    const body = await readCapped(req);
    const form = await checkedForm(body, contentType);
    const model = form.get("model");
    const call = startCall(res, "audio.transcriptions", typeof model === "string" && model ? model.slice(0, 200) : "unknown", readPurpose(req));
    // Audio is priced per minute or per token after the fact: only the spending so far is checked.
    const release = await admitWithinBudget(ctx, call, 0);

    await runCall(ctx, call, res, release, async (control) => {
      const { response } = await ctx.upstream.send(
        { path: "/audio/transcriptions", body: () => body, replayable: true, contentType, accept: "application/json" },
        control,
      );
      const answer = await readBuffered(response);
      await ctx.meter.record(call, { status: answer.ok ? "ok" : "upstream_error", httpStatus: answer.httpStatus, usage: answer.usage });
      answer.send(res);
    });
  };
}
