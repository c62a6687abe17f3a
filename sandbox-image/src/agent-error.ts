import type { ErrorCode } from "@concierge/protocol";

/**
 * An expected failure of one method call. The gateway turns it into an error response with this
 * code; anything else thrown is reported as "internal" with a generic message.
 */
export class AgentError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly retryable = false,
  ) {
    super(message);
    this.name = "AgentError";
  }
}
