import { z } from "./zod";

/** Bumped when a frame or method changes incompatibly; both ends refuse a peer of another version. */
export const PROTOCOL_VERSION = 2;

/** The port the agent's gateway listens on inside its sandbox. */
export const AGENT_PORT = 18789;

/** Largest frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** How far a connect's timestamp may be from the agent's clock before it is refused as stale. */
export const HANDSHAKE_MAX_SKEW_MS = 60_000;

export const ChallengeFrame = z.object({
  type: z.literal("challenge"),
  nonce: z.string().check(z.minLength(16)),
  ts: z.int(),
});
export type ChallengeFrame = z.infer<typeof ChallengeFrame>;

export const ConnectFrame = z.object({
  type: z.literal("connect"),
  protocolVersion: z.int(),
  sandboxId: z.string().check(z.minLength(1)),
  /**
   * base64url HMAC-SHA256 keyed by the sandbox's token over connectSigningPayload() (connectProof):
   * proves the control plane holds the token without sending it, so whoever answers the agent port
   * learns nothing it could replay at the LLM gateway. (Protocol 1 sent the token itself.)
   */
  proof: z.string().check(z.minLength(1)),
  nonce: z.string().check(z.minLength(16)),
  ts: z.int(),
  /** base64 Ed25519 signature by the control plane's key over connectSigningPayload(). */
  signature: z.string().check(z.minLength(1)),
});
export type ConnectFrame = z.infer<typeof ConnectFrame>;

export const HelloFrame = z.object({
  type: z.literal("hello"),
  protocolVersion: z.int(),
  agentVersion: z.string(),
  capabilities: z.array(z.string()),
});
export type HelloFrame = z.infer<typeof HelloFrame>;

export const RequestFrame = z.object({
  type: z.literal("req"),
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  method: z.string().check(z.minLength(1)),
  params: z.unknown(),
});
export type RequestFrame = z.infer<typeof RequestFrame>;

export const ErrorCode = z.enum([
  "bad_request",
  "unauthorized",
  "method_not_found",
  "not_found",
  "timeout",
  "busy",
  "internal",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorShape = z.object({
  code: ErrorCode,
  message: z.string(),
  retryable: z.optional(z.boolean()),
});
export type ErrorShape = z.infer<typeof ErrorShape>;

export const ResponseFrame = z.discriminatedUnion("ok", [
  z.object({ type: z.literal("res"), id: z.string(), ok: z.literal(true), payload: z.unknown() }),
  z.object({ type: z.literal("res"), id: z.string(), ok: z.literal(false), error: ErrorShape }),
]);
export type ResponseFrame = z.infer<typeof ResponseFrame>;

export const EventFrame = z.object({
  type: z.literal("event"),
  event: z.string().check(z.minLength(1)),
  payload: z.unknown(),
  seq: z.int().check(z.nonnegative()),
});
export type EventFrame = z.infer<typeof EventFrame>;

/** Every frame that may follow the handshake, in either direction. */
export const SessionFrame = z.discriminatedUnion("type", [
  RequestFrame,
  z.object({ type: z.literal("res"), id: z.string(), ok: z.boolean(), payload: z.optional(z.unknown()), error: z.optional(ErrorShape) }),
  EventFrame,
]);

/** WebSocket close codes the agent uses, so the control plane can tell why it was refused. */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  tooBig: 1009,
  unauthorized: 4001,
  staleHandshake: 4002,
  versionMismatch: 4003,
  handshakeTimeout: 4008,
} as const;
