import { Methods, RequestFrame, isMethodName, type ErrorShape, type MethodName, type ResponseFrame } from "@concierge/protocol";
import type { Logger } from "pino";
import { AgentError } from "../agent-error";

/**
 * The one seam between the gateway and the agent behind it. Params arrive already validated
 * against Methods[method].params; the result is validated against Methods[method].result here.
 */
export interface GatewayAgent {
  handle(method: MethodName, params: unknown): Promise<unknown>;
}

/** Shown instead of whatever the agent threw: the real error goes to the log, never on the wire. */
export const INTERNAL_ERROR_MESSAGE = "the agent could not handle this request";

/** Frames without a usable id are answered with this one, so the peer still sees the failure. */
export const UNKNOWN_ID = "unknown";

/** An expected failure the agent raised on purpose: its code and message go to the control plane. */
function expectedFailure(err: unknown): ErrorShape | undefined {
  if (!(err instanceof AgentError)) return undefined;
  return { code: err.code, message: err.message, retryable: err.retryable };
}

function failure(id: string, error: ErrorShape): ResponseFrame {
  return { type: "res", id, ok: false, error };
}

/** Best effort: a frame that failed validation may still carry an id we can answer to. */
function idOf(frame: unknown): string {
  const id = typeof frame === "object" && frame !== null ? (frame as { id?: unknown }).id : undefined;
  return typeof id === "string" && id.length > 0 && id.length <= 128 ? id : UNKNOWN_ID;
}

/** The id to answer a raw frame with, without handling it. */
export function requestIdOf(text: string): string {
  try {
    return idOf(JSON.parse(text));
  } catch {
    return UNKNOWN_ID;
  }
}

/** Turns one raw text frame into exactly one response frame. Never throws. */
export class RequestHandler {
  constructor(
    private readonly agent: GatewayAgent,
    private readonly logger: Logger,
  ) {}

  async handleText(text: string): Promise<ResponseFrame> {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return failure(UNKNOWN_ID, { code: "bad_request", message: "frame is not valid JSON" });
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      return failure(UNKNOWN_ID, { code: "bad_request", message: "frame must be a JSON object" });
    }
    const req = RequestFrame.safeParse(frame);
    if (!req.success) {
      const type = (frame as { type?: unknown }).type;
      const message = type === "req" ? "malformed request frame" : `unexpected frame type ${JSON.stringify(type ?? null).slice(0, 40)}`;
      return failure(idOf(frame), { code: "bad_request", message });
    }
    return this.handleRequest(req.data);
  }

  async handleRequest(req: RequestFrame): Promise<ResponseFrame> {
    const { id, method } = req;
    if (!isMethodName(method)) {
      return failure(id, { code: "method_not_found", message: `unknown method ${method.slice(0, 64)}` });
    }
    const spec = Methods[method];
    const params = spec.params.safeParse(req.params ?? {});
    if (!params.success) {
      const issues = params.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "params"}: ${i.message}`);
      return failure(id, { code: "bad_request", message: `invalid params for ${method}: ${issues.join("; ")}` });
    }
    const started = Date.now();
    let result: unknown;
    try {
      result = await this.agent.handle(method, params.data);
    } catch (err) {
      const expected = expectedFailure(err);
      if (expected) {
        this.logger.info({ id, method, code: expected.code, ms: Date.now() - started }, "request failed");
        return failure(id, expected);
      }
      this.logger.error({ err, id, method }, "agent threw while handling a request");
      return failure(id, { code: "internal", message: INTERNAL_ERROR_MESSAGE });
    }
    const checked = spec.result.safeParse(result);
    if (!checked.success) {
      // A result that breaks the contract is the agent's bug: the control plane must never see it.
      this.logger.error({ id, method, issues: checked.error.issues.slice(0, 5) }, "agent result does not match the protocol");
      return failure(id, { code: "internal", message: INTERNAL_ERROR_MESSAGE });
    }
    this.logger.debug({ id, method, ms: Date.now() - started }, "request handled");
    return { type: "res", id, ok: true, payload: checked.data };
  }
}
