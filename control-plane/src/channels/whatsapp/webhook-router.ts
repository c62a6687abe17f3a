import express, { Router, type Request, type Response } from "express";
import type { Registry } from "prom-client";
import { registryCounter } from "../../metrics";
import { problem } from "../../http/problem";
import type { Logger } from "../../logger";
import type { InboundRecorder } from "./inbound";
import { forPhoneNumber, parseWebhookBody } from "./payload";
import { verifyMetaSignature, verifyTokenMatches } from "./signature";
import type { StatusProcessor } from "./status-processor";

export interface WhatsAppRouterOptions {
  /** Undefined when WhatsApp is not configured: every route answers 503 saying so. */
  credentials?: { verifyToken: string; appSecret: string };
  /** Our WHATSAPP_PHONE_NUMBER_ID: events for any other number are acknowledged and ignored. */
  phoneNumberId?: string;
  recorder?: InboundRecorder;
  statuses?: StatusProcessor;
  logger: Logger;
  metrics?: Registry;
  /** Largest webhook body accepted (Meta's are a few KB). */
  maxBodyBytes?: number;
}


/**
 * Mounted at /whatsapp. GET /webhook answers Meta's verification handshake; POST /webhook checks
 * the signature (signature.ts), drops events for another phone number, stores every message and status in the database, and only then
 * answers 200. The agent's turn runs later, from the inbox, so Meta never waits on an LLM.
 */
export function createWhatsAppRouter(opts: WhatsAppRouterOptions): Router {
  const router = Router();
  const log = opts.logger.child({ component: "whatsapp-webhook" });
  const webhooks = opts.metrics ? registryCounter(opts.metrics, "concierge_whatsapp_webhooks_total", "WhatsApp webhook requests by outcome", ["outcome"]) : undefined;
  const count = (outcome: string) => webhooks?.inc({ outcome });

  const creds = opts.credentials;
  if (!creds || !opts.recorder || !opts.statuses) {
    router.all("/webhook", (_req, res) => {
      problem(res, 503, "whatsapp_not_configured", "WhatsApp is not configured on this server: set WHATSAPP_VERIFY_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID.");
    });
    return router;
  }
  const { recorder, statuses } = opts;

  router.get("/webhook", (req: Request, res: Response) => {
    const mode = req.query["hub.mode"];
    const challenge = req.query["hub.challenge"];
    if (mode === "subscribe" && typeof challenge === "string" && verifyTokenMatches(req.query["hub.verify_token"], creds.verifyToken)) {
      count("verified");
      res.status(200).type("text/plain").send(challenge);
      return;
    }
    count("verify_rejected");
    log.warn({ mode }, "webhook verification refused");
    res.status(403).type("text/plain").send("Forbidden");
  });

  router.post(
    "/webhook",
    // Every content type: the signature is over the exact bytes, whatever Meta labels them.
    express.raw({ type: () => true, limit: opts.maxBodyBytes ?? 1024 * 1024 }),
    async (req: Request, res: Response) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verdict = verifyMetaSignature(raw, req.get("x-hub-signature-256"), creds.appSecret);
      if (verdict !== "valid") {
        count(`signature_${verdict}`);
        log.warn({ verdict, bytes: raw.length }, "webhook signature rejected");
        problem(res, verdict === "missing" ? 401 : 403, "bad_signature", verdict === "missing" ? "X-Hub-Signature-256 is required" : "X-Hub-Signature-256 does not match the body");
        return;
      }
      let json: unknown;
      try {
        // From the raw bytes (JSON.parse reads \uXXXX escapes and raw UTF-8 alike). PostgreSQL text
        // cannot hold U+0000: it is dropped here rather than failing the store (and Meta retrying).
        json = JSON.parse(raw.toString("utf8"), (_key, value: unknown) => (typeof value === "string" ? value.replace(/\u0000/g, "") : value));
      } catch {
        count("malformed");
        problem(res, 400, "malformed_json", "the body is not valid JSON");
        return;
      }
      const parsed = parseWebhookBody(json);
      if (!parsed) {
        count("invalid");
        problem(res, 400, "invalid_payload", "the body is not a WhatsApp Business Account webhook");
        return;
      }
      let events = parsed;
      if (opts.phoneNumberId !== undefined) {
        const { kept, foreign } = forPhoneNumber(parsed, opts.phoneNumberId);
        if (foreign.length) {
          count("other_number");
          log.warn({ phoneNumberIds: foreign, ignored: parsed.messages.length + parsed.statuses.length - kept.messages.length - kept.statuses.length }, "webhook events for another phone number ignored");
        }
        events = kept;
      }
      try {
        await recorder.record(events.messages);
        await statuses.apply(events.statuses);
      } catch (err) {
        // A 5xx makes Meta deliver it again; what was stored is deduplicated on the wamid.
        count("error");
        log.error({ err }, "could not store a webhook; Meta will retry");
        problem(res, 500, "internal", "could not store the event; please retry");
        return;
      }
      count("ok");
      res.status(200).json({ ok: true });
    },
  );
  return router;
}
