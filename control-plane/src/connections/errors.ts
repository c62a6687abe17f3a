import type { ErrorCode } from "@concierge/protocol";

/** The agent answered, with ok:false. `retryable` is the agent's own verdict (false when it gave none). */
export class AgentRequestError extends Error {
  constructor(
    message: string,
    public readonly code: ErrorCode,
    public readonly retryable: boolean,
  ) {
    super(message);
    this.name = "AgentRequestError";
  }
}

/**
 * The agent could not be reached: the dial or handshake failed, the socket closed while a request
 * was in flight, or the sandbox was stopped. Always worth retrying later (the agent dedupes on the
 * idempotency key, so a request that did arrive is not run twice).
 */
export class AgentUnavailableError extends Error {
  constructor(
    message: string,
    /** The WebSocket close code when the agent refused us (4001 unauthorized, 4003 version mismatch). */
    public readonly closeCode?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No answer within the request's timeout. A late answer for it is dropped, never handed to anyone else. */
export class AgentTimeoutError extends AgentUnavailableError {}
