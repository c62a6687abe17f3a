import { createHmac, timingSafeEqual } from "node:crypto";

/** How long after the TwiML a stream token opens a stream: Twilio connects within seconds. */
export const STREAM_TOKEN_TTL_MS = 2 * 60_000;

/**
 * The <Stream> TwiML carries the caller's user id as a custom parameter, signed with the Twilio
 * auth token together with the call and the time it was issued: "<issuedAtMs>.<mac>". The bridge
 * refuses a start frame whose token does not match, has expired, or names a call that has ended
 * or already has its stream (the calls row records the one stream a token opened).
 */
export function streamToken(secret: string, callSid: string, userId: string, issuedAt: Date): string {
  const iat = issuedAt.getTime();
  return `${iat}.${mac(secret, callSid, userId, iat)}`;
}

export function verifyStreamToken(secret: string, callSid: string, userId: string, token: string, now: Date): boolean {
  const dot = token.indexOf(".");
  const iat = Number(token.slice(0, dot));
  if (dot < 1 || !Number.isSafeInteger(iat)) return false;
  const age = now.getTime() - iat;
  if (age > STREAM_TOKEN_TTL_MS || age < -30_000) return false;
  const expected = Buffer.from(mac(secret, callSid, userId, iat));
  const given = Buffer.from(token.slice(dot + 1));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function mac(secret: string, callSid: string, userId: string, iat: number): string {
  return createHmac("sha256", secret).update(`voice-stream:v2:${callSid}:${userId}:${iat}`).digest("base64url");
}

/** ws(s)://<public host>/voice/stream, from PUBLIC_BASE_URL. */
export function streamUrl(publicBaseUrl: string): string {
  const u = new URL(publicBaseUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/voice/stream`;
  u.search = "";
  return u.toString();
}
