import express, { type Request, type Response, type Router } from "express";
import { problem } from "../../http/problem";
import type { Clock } from "../../clock";
import { webhookRouter, type WebhookRouterBase } from "../webhook";
import { parseZoomEvent, ZoomPayloadError } from "./payload";
import { urlValidationResponse, verifyZoomSignature } from "./signature";
import type { ZoomInbound } from "./zoom-inbound";

export interface ZoomRouterOptions extends WebhookRouterBase {
  /** Undefined when ZOOM_WEBHOOK_SECRET_TOKEN is unset: the route answers 503 saying so. */
  secretToken?: string;
  inbound?: ZoomInbound;
  clock: Clock;
}

/**
 * Mounted at /zoom. POST /webhook verifies x-zm-signature over the raw bytes before anything else,
 * including endpoint.url_validation: answering that one unsigned would hand anyone an HMAC oracle
 * for our secret, and the same HMAC signs every webhook. Work is stored (or streams claimed) before
 * the 200, so a Zoom retry after a crash is never lost and a duplicate is a no-op.
 */
export function createZoomRouter(o: ZoomRouterOptions): Router {
  const { secretToken, inbound } = o;
  const { router, log, count } = webhookRouter({
    ...o,
    provider: "zoom",
    title: "Zoom",
    notConfigured:
      secretToken && inbound
        ? undefined
        : { code: "zoom_not_configured", message: "Zoom is not configured on this server: set ZOOM_WEBHOOK_SECRET_TOKEN (and ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET for live transcripts)." },
  });
  if (!secretToken || !inbound) return router;

  router.post("/webhook", express.raw({ type: () => true, limit: o.maxBodyBytes ?? 256 * 1024 }), async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyZoomSignature(raw, { signature: req.get("x-zm-signature"), timestamp: req.get("x-zm-request-timestamp") }, secretToken, o.clock.now());
    if (verdict !== "valid") {
      count(`signature_${verdict}`);
      log.warn({ verdict, bytes: raw.length }, "zoom webhook signature rejected");
      problem(res, 401, "bad_signature", verdict === "stale" ? "x-zm-request-timestamp is too far from now" : "x-zm-signature is missing or does not match the body");
      return;
    }
    let event;
    try {
      event = parseZoomEvent(JSON.parse(raw.toString("utf8")));
    } catch (err) {
      count("malformed");
      const message = err instanceof ZoomPayloadError ? err.message : "the body is not valid JSON";
      log.warn({ message }, "malformed zoom webhook");
      problem(res, 400, "malformed", message);
      return;
    }
    if (event.type === "url_validation") {
      count("url_validation");
      res.status(200).json(urlValidationResponse(event.plainToken, secretToken));
      return;
    }
    try {
      const outcome = await inbound.handle(event);
      count(outcome);
      res.status(200).json({ ok: true });
    } catch (err) {
      // 500 makes Zoom retry; every step above is safe to repeat.
      count("error");
      log.error({ err, event: event.event }, "could not accept a zoom event");
      problem(res, 500, "internal", "could not accept the event; please retry");
    }
  });
  return router;
}
