import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The <Stream> TwiML carries the caller's user id as a custom parameter; anyone can open a
 * WebSocket to /voice/stream, so the parameter is signed with the Twilio auth token and the bridge
 * refuses a start frame whose signature does not match.
 */
export function streamToken(secret: string, callSid: string, userId: string): string {
  return createHmac("sha256", secret).update(`voice-stream:v1:${callSid}:${userId}`).digest("base64url");
}

export function verifyStreamToken(secret: string, callSid: string, userId: string, token: string): boolean {
  const expected = Buffer.from(streamToken(secret, callSid, userId));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** ws(s)://<public host>/voice/stream, from PUBLIC_BASE_URL. */
export function streamUrl(publicBaseUrl: string): string {
  const u = new URL(publicBaseUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/voice/stream`;
  u.search = "";
  return u.toString();
}
