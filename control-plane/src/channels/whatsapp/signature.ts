import { createHmac, timingSafeEqual } from "node:crypto";
import { safeEqual } from "../../sandboxes/token";

export type SignatureVerdict = "valid" | "missing" | "invalid";

/**
 * Meta's escaped form of a payload: every UTF-16 code unit above `~` written as a lowercase
 * `\uXXXX` escape (so `ä` is `\u00e4` and an emoji is its surrogate pair `\ud83d\ude00`). Meta sends
 * the body as raw UTF-8 but computes X-Hub-Signature-256 over this form ("we generate the signature
 * using an escaped unicode version of the payload, with lowercase hex digits").
 */
export function metaEscape(text: string): string {
  return text.replace(/[^\0-~]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * X-Hub-Signature-256 is "sha256=" + hex HMAC-SHA256(app secret, payload). A body is accepted when
 * the HMAC matches its raw bytes or Meta's escaped form of them; both are constant-time compares,
 * and neither can be produced without the app secret. The escaped form only rewrites characters
 * that are invalid outside JSON strings and mean the same inside them, so a valid JSON body and its
 * escaped form parse to the same value: the signature still pins what the router parses (from the
 * raw bytes). `\/`, `\u0000` and other escapes are ASCII and never rewritten. Bytes that are not
 * valid UTF-8 get no escaped form (they would decode to U+FFFD, which a real U+FFFD also escapes to).
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): SignatureVerdict {
  if (header === undefined || header.trim() === "") return "missing";
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return "invalid";
  const given = Buffer.from(match[1]!, "hex");
  const matches = (payload: Buffer | string) => timingSafeEqual(given, createHmac("sha256", appSecret).update(payload).digest());
  if (matches(rawBody)) return "valid";
  const escaped = escapedForm(rawBody);
  return escaped !== undefined && matches(escaped) ? "valid" : "invalid";
}

function escapedForm(rawBody: Buffer): string | undefined {
  try {
    return metaEscape(strictUtf8.decode(rawBody));
  } catch {
    return undefined;
  }
}

/** The header value Meta sends for this body: the HMAC over its escaped form (the local sink and tests sign with it). */
export function signMetaPayload(rawBody: Buffer | string, appSecret: string): string {
  const text = typeof rawBody === "string" ? rawBody : rawBody.toString("utf8");
  return `sha256=${createHmac("sha256", appSecret).update(metaEscape(text)).digest("hex")}`;
}

/** The GET verification handshake compares the verify token in constant time. */
export function verifyTokenMatches(given: unknown, expected: string): boolean {
  return typeof given === "string" && safeEqual(given, expected);
}
