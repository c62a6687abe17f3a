import { createHmac, timingSafeEqual } from "node:crypto";
import { safeEqual } from "../../sandboxes/token";

export type SignatureVerdict = "valid" | "missing" | "invalid";

/**
 * X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256(app secret, the raw body bytes). Meta signs
 * the bytes it sent, in which non-ASCII characters appear \uXXXX-escaped, so this must run on the
 * untouched buffer, never on a re-serialized object.
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): SignatureVerdict {
  if (header === undefined || header.trim() === "") return "missing";
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return "invalid";
  const expected = createHmac("sha256", appSecret).update(rawBody).digest();
  const given = Buffer.from(match[1]!, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "invalid";
}

/** The header value Meta would send for these bytes (tests and the local console sign with it). */
export function signMetaPayload(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(rawBody).digest("hex")}`;
}

/** The GET verification handshake compares the verify token in constant time. */
export function verifyTokenMatches(given: unknown, expected: string): boolean {
  return typeof given === "string" && safeEqual(given, expected);
}
