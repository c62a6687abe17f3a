import express, { Router, type Request, type Response } from "express";
import { safeEqual } from "../../sandboxes/token";
import type { LocalGraphSink } from "./local-sink";
import { WHATSAPP_TEXT_LIMIT } from "./split-message";

/**
 * The Graph API routes of the local sink, mounted at /local-graph: the control plane's Graph base
 * is then `<self>/local-graph/v22.0`. They check what Meta checks (the bearer token, the phone
 * number id, messaging_product, a recipient, 4096 characters) and answer in Meta's shapes,
 * errors included, so the GraphApiClient cannot tell it from the real thing.
 */

/** Meta's error body: {error: {message, type, code, error_data?, fbtrace_id}}. */
function metaError(res: Response, status: number, code: number, message: string, type = "OAuthException", details?: string): void {
  res.status(status).json({
    error: { message, type, code, ...(details ? { error_data: { messaging_product: "whatsapp", details } } : {}), fbtrace_id: "LOCALSINK" },
  });
}

function authorized(req: Request, accessToken: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.get("authorization") ?? "");
  return !!m && safeEqual(m[1]!.trim(), accessToken);
}

/** The text a send shows on the phone: the body, or a template's name and parameters. */
function shownText(body: Record<string, any>): string | undefined {
  if (body.type === "text") return typeof body.text?.body === "string" ? body.text.body : undefined;
  if (body.type === "template" && typeof body.template?.name === "string") {
    const params = (body.template.components ?? []).flatMap((c: any) => (Array.isArray(c?.parameters) ? c.parameters : [])).map((p: any) => String(p?.text ?? ""));
    return `[template ${body.template.name}]${params.length ? ` ${params.join(" ")}` : ""}`;
  }
  return undefined;
}

export function createLocalGraphRouter(sink: LocalGraphSink): Router {
  const router = Router();
  const { accessToken, phoneNumberId } = sink.credentials;

  router.use((req, res, next) => {
    if (!authorized(req, accessToken)) return metaError(res, 401, 190, "Invalid OAuth access token - Cannot parse access token");
    next();
  });
  router.use(express.json({ limit: "1mb" }));

  router.post("/:version/:phoneNumberId/messages", (req, res) => {
    if (req.params.phoneNumberId !== phoneNumberId) {
      return metaError(res, 400, 100, `Unsupported post request. Object with ID '${req.params.phoneNumberId}' does not exist`, "GraphMethodException");
    }
    const body = (req.body ?? {}) as Record<string, any>;
    if (body.messaging_product !== "whatsapp") return metaError(res, 400, 100, "(#100) The parameter messaging_product is required.", "OAuthException");

    if (body.status === "read") {
      if (typeof body.message_id !== "string") return metaError(res, 400, 100, "(#100) The parameter message_id is required.");
      sink.recordRead(body.message_id, body.typing_indicator?.type === "text");
      return res.json({ success: true });
    }

    const to = typeof body.to === "string" ? body.to.replace(/[^0-9]/g, "") : "";
    if (!to) return metaError(res, 400, 100, "(#100) The parameter to is required.");
    const text = shownText(body);
    if (text === undefined) return metaError(res, 400, 100, "(#100) Invalid parameter", "OAuthException", `the local sink accepts text and template messages, not ${String(body.type)}`);
    if (body.type === "text" && text.length > WHATSAPP_TEXT_LIMIT) {
      return metaError(res, 400, 100, "(#100) Invalid parameter", "OAuthException", `Param text['body'] must be at most ${WHATSAPP_TEXT_LIMIT} characters long.`);
    }
    const replyTo = typeof body.context?.message_id === "string" ? body.context.message_id : undefined;
    const sent = sink.recordSend({ waId: to, type: String(body.type), text, ...(replyTo ? { replyTo } : {}) });
    // Statuses follow the answer, as Meta's do.
    res.on("finish", () => sink.reportDelivery(sent));
    res.json({ messaging_product: "whatsapp", contacts: [{ input: body.to, wa_id: to }], messages: [{ id: sent.wamid }] });
  });

  // Media lookups: the console sends text only, so there is never any media to find.
  router.get("/:version/:mediaId", (req, res) => {
    metaError(res, 400, 100, `Unsupported get request. Object with ID '${req.params.mediaId}' does not exist`, "GraphMethodException");
  });

  return router;
}
