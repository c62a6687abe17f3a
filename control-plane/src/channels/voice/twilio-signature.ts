import { createHash } from "node:crypto";
import express, { type RequestHandler, type Response } from "express";
import twilio from "twilio";
import type { Logger } from "../../logger";

const FORM = "application/x-www-form-urlencoded";

/**
 * Parses the form-encoded body and checks X-Twilio-Signature with the twilio package over the URL
 * Twilio called: PUBLIC_BASE_URL plus the path and query as they arrived. What the proxy forwarded
 * (its Host, its scheme) is never trusted, so the check is the same behind Caddy as in front of it.
 * An invalid request gets 403 before any handler runs: no side effect. Twilio's voice webhooks are
 * always forms; anything else is a 400 (audit 15.14), whatever its signature.
 *
 * A valid request leaves its digest (URL, signature, parameters) in res.locals.twilioDigest, which
 * the routes use to recognise a replay of the very same signed request (audit 15.11).
 */
export function verifyTwilioSignature(opts: { authToken: string; publicBaseUrl: string; logger: Logger }): RequestHandler[] {
  const log = opts.logger.child({ component: "voice-signature" });
  const base = opts.publicBaseUrl.replace(/\/+$/, "");
  const formOnly: RequestHandler = (req, res, next) => {
    if (req.is(FORM)) return next();
    log.warn({ path: req.path, contentType: req.header("content-type") ?? null }, "refused a voice webhook that is not a form");
    res.status(400).type("text/plain").send(`expected ${FORM}`);
  };
  const check: RequestHandler = (req, res, next) => {
    const signature = req.header("x-twilio-signature") ?? "";
    const params = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
    const url = `${base}${req.originalUrl}`;
    if (!signature || !twilio.validateRequest(opts.authToken, signature, url, params)) {
      log.warn({ path: req.path, hasSignature: Boolean(signature) }, "rejected a Twilio webhook with an invalid signature");
      res.status(403).type("text/plain").send("invalid signature");
      return;
    }
    res.locals.twilioDigest = requestDigest(url, signature, params);
    next();
  };
  return [formOnly, express.urlencoded({ extended: false, limit: "64kb" }), check];
}

function requestDigest(url: string, signature: string, params: Record<string, unknown>): string {
  const body = Object.keys(params)
    .sort()
    .map((k) => `${k}=${String(params[k])}`)
    .join("&");
  return createHash("sha256").update(`${url}\n${signature}\n${body}`).digest("base64url");
}

/** The digest verifyTwilioSignature left for this request. */
export function twilioDigest(res: Response): string {
  return String(res.locals.twilioDigest ?? "");
}
