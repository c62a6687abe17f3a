import { createHash, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import {
  CloseCode,
  ConnectFrame,
  HANDSHAKE_MAX_SKEW_MS,
  PROTOCOL_VERSION,
  verifyConnect,
  verifyConnectProof,
  type ChallengeFrame,
} from "@concierge/protocol";

/** What the agent knows about itself and its control plane, from its environment. */
export interface HandshakeIdentity {
  sandboxId: string;
  token: string;
  controlPlanePublicKey: KeyObject;
  maxSkewMs?: number;
}

export type HandshakeVerdict = { ok: true; frame: ConnectFrame } | { ok: false; code: number; reason: string };

/** A fresh challenge; its nonce is valid for exactly one connect on the socket it was sent on. */
export function createChallenge(nowMs: number): ChallengeFrame {
  return { type: "challenge", nonce: randomBytes(24).toString("base64url"), ts: nowMs };
}

/** Constant-time comparison: hashing first makes the lengths equal, so nothing leaks through timing. */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

function refuse(code: number, reason: string): HandshakeVerdict {
  return { ok: false, code, reason };
}

/**
 * Judges the first frame a peer sent after our challenge. Order matters: the peer must prove who it
 * is (token, then the signature over sandboxId/nonce/ts) before we tell it anything about freshness,
 * so an unauthenticated peer only ever learns "unauthorized".
 */
export function checkConnect(raw: unknown, identity: HandshakeIdentity, challenge: ChallengeFrame, nowMs: number): HandshakeVerdict {
  if (typeof raw !== "object" || raw === null || (raw as { type?: unknown }).type !== "connect") {
    return refuse(CloseCode.protocolError, "expected a connect frame");
  }
  const version = (raw as { protocolVersion?: unknown }).protocolVersion;
  if (typeof version === "number" && version !== PROTOCOL_VERSION) {
    return refuse(CloseCode.versionMismatch, `protocol version ${version} is not supported (agent speaks ${PROTOCOL_VERSION})`);
  }
  const parsed = ConnectFrame.safeParse(raw);
  if (!parsed.success) return refuse(CloseCode.protocolError, "malformed connect frame");
  const frame = parsed.data;

  if (frame.sandboxId !== identity.sandboxId) return refuse(CloseCode.unauthorized, "unauthorized: wrong sandbox");
  // The token never travels: the peer proves it holds it with an HMAC over this challenge.
  if (!verifyConnectProof(identity.token, frame.sandboxId, frame.nonce, frame.ts, frame.proof)) return refuse(CloseCode.unauthorized, "unauthorized: bad token");
  if (!verifyConnect(identity.controlPlanePublicKey, frame.sandboxId, frame.nonce, frame.ts, frame.signature)) {
    return refuse(CloseCode.unauthorized, "unauthorized: bad signature");
  }
  if (frame.nonce !== challenge.nonce) {
    return refuse(CloseCode.staleHandshake, "stale handshake: nonce is not this connection's challenge (replayed?)");
  }
  const skew = identity.maxSkewMs ?? HANDSHAKE_MAX_SKEW_MS;
  if (Math.abs(nowMs - frame.ts) > skew) {
    return refuse(CloseCode.staleHandshake, `stale handshake: timestamp is more than ${skew} ms from the agent's clock`);
  }
  return { ok: true, frame };
}
