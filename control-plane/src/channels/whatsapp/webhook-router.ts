import express, { type Request, type Response, type Router } from "express";
import { problem } from "../../http/problem";
import { webhookRouter, type WebhookRouterBase } from "../webhook";
import type { InboundRecorder } from "./inbound";
import { forPhoneNumber, parseWebhookBody } from "./payload";
import { verifyMetaSignature, verifyTokenMatches } from "./signature";
import type { StatusProcessor } from "./status-processor";

export interface WhatsAppRouterOptions extends WebhookRouterBase {
  /** Undefined when WhatsApp is not configured: every route answers 503 saying so. */
  credentials?: { verifyToken: string; appSecret: string };
  /** Our WHATSAPP_PHONE_NUMBER_ID: events for any other number are acknowledged and ignored. */
  phoneNumberId?: string;
  recorder?: InboundRecorder;
  statuses?: StatusProcessor;
}

/**
 * Mounted at /whatsapp. GET /webhook answers Meta's verification handshake; POST /webhook checks
 * the signature (signature.ts), drops events for another phone number, stores every message and status in the database, and only then
 * answers 200. The agent's turn runs later, from the inbox, so Meta never waits on an LLM.
 */
export function createWhatsAppRouter(opts: WhatsAppRouterOptions): Router {
  const creds = opts.credentials;
  const { router, log, count } = webhookRouter({
    ...opts,
    provider: "whatsapp",
    title: "WhatsApp",
    notConfigured:
      creds && opts.recorder && opts.statuses
        ? undefined
        : {
            code: "whatsapp_not_configured",
            message: "WhatsApp is not configured on this server: set WHATSAPP_VERIFY_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID.",
          },
  });
  if (!creds || !opts.recorder || !opts.statuses) return router;
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
        // JSON can only carry it escaped (a raw control character is invalid JSON), so the reviver,
        // which calls back for every value and made the parse several times slower, runs only then.
        const text = raw.toString("utf8");
        json = /\\u0000/i.test(text)
          ? JSON.parse(text, (_key, value: unknown) => (typeof value === "string" ? value.replace(/\u0000/g, "") : value))
          : JSON.parse(text);
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
