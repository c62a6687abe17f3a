import { createHmac, timingSafeEqual } from "node:crypto";

export type ZoomSignatureVerdict = "valid" | "missing" | "stale" | "invalid";

/** Zoom retries for a while, but a signature this old (or this far ahead) is a replay. */
export const MAX_SKEW_MS = 5 * 60 * 1000;

/**
 * x-zm-signature is "v0=" + hex HMAC-SHA256(secret token, `v0:${x-zm-request-timestamp}:${raw body}`).
 * It must be checked over the exact bytes Zoom sent, never over a re-serialized object. The
 * timestamp is in seconds; one outside MAX_SKEW_MS of now is refused before the HMAC is compared.
 */
export function verifyZoomSignature(
  rawBody: Buffer,
  headers: { signature: string | undefined; timestamp: string | undefined },
  secret: string,
  now: Date,
): ZoomSignatureVerdict {
  const sig = headers.signature?.trim();
  const ts = headers.timestamp?.trim();
  if (!sig || !ts) return "missing";
  if (!/^\d{1,13}$/.test(ts)) return "invalid";
  // Zoom sends seconds; accept milliseconds too rather than call every such request stale.
  const tsMs = ts.length >= 13 ? Number(ts) : Number(ts) * 1000;
  if (Math.abs(now.getTime() - tsMs) > MAX_SKEW_MS) return "stale";
  const match = /^v0=([0-9a-fA-F]{64})$/.exec(sig);
  if (!match) return "invalid";
  const expected = createHmac("sha256", secret).update(`v0:${ts}:`).update(rawBody).digest();
  const given = Buffer.from(match[1]!, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "invalid";
}

/** The headers Zoom would send for these bytes at this time (tests and local tools sign with it). */
export function signZoomPayload(rawBody: Buffer | string, secret: string, timestampSeconds: number): { "x-zm-signature": string; "x-zm-request-timestamp": string } {
  const ts = String(timestampSeconds);
  const mac = createHmac("sha256", secret).update(`v0:${ts}:`).update(rawBody).digest("hex");
  return { "x-zm-signature": `v0=${mac}`, "x-zm-request-timestamp": ts };
}

/** endpoint.url_validation: Zoom checks that we hold the secret by asking for HMAC(secret, plainToken). */
export function urlValidationResponse(plainToken: string, secret: string): { plainToken: string; encryptedToken: string } {
  return { plainToken, encryptedToken: createHmac("sha256", secret).update(plainToken).digest("hex") };
}
