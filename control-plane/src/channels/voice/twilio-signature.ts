import express, { type RequestHandler } from "express";
import twilio from "twilio";
import type { Logger } from "../../logger";

/**
 * Parses the form-encoded body and checks X-Twilio-Signature with the twilio package over the URL
 * Twilio called: PUBLIC_BASE_URL plus the path and query as they arrived. What the proxy forwarded
 * (its Host, its scheme) is never trusted, so the check is the same behind Caddy as in front of it.
 * An invalid request gets 403 before any handler runs: no side effect.
 */
export function verifyTwilioSignature(opts: { authToken: string; publicBaseUrl: string; logger: Logger }): RequestHandler[] {
  const log = opts.logger.child({ component: "voice-signature" });
  const base = opts.publicBaseUrl.replace(/\/+$/, "");
  const check: RequestHandler = (req, res, next) => {
    const signature = req.header("x-twilio-signature") ?? "";
    const params = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
    const url = `${base}${req.originalUrl}`;
    if (!signature || !twilio.validateRequest(opts.authToken, signature, url, params)) {
      log.warn({ path: req.path, hasSignature: Boolean(signature) }, "rejected a Twilio webhook with an invalid signature");
      res.status(403).type("text/plain").send("invalid signature");
      return;
    }
    next();
  };
  return [express.urlencoded({ extended: false, limit: "64kb" }), check];
}
