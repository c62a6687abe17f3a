import { AgentUnavailableError } from "../connections/errors";
import { RuntimeError, SandboxUnavailableError } from "../sandboxes/runtime";

/** PostgreSQL SQLSTATE classes that mean "the database is away", not "the statement is wrong". */
const DB_AWAY_STATES = /^(08|53|57P0)/;
const NET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);

/**
 * True for failures of the machinery around a turn rather than of the turn itself: the container
 * runtime failing (Docker restarting), a sandbox that would not start, the database away. These
 * are retried on the longer infrastructure schedule. An agent that answered with an error, timed
 * out, or dropped its socket mid-turn is the turn's own failure (normal schedule): a message that
 * crashes its agent every time must not block its user's queue for an hour.
 */
export function isInfrastructureError(err: unknown): boolean {
  if (err instanceof AgentUnavailableError) return false;
  if (err instanceof RuntimeError || err instanceof SandboxUnavailableError) return true;
  if (err && typeof err === "object") {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && (DB_AWAY_STATES.test(code) || NET_CODES.has(code))) return true;
    const cause = (err as { cause?: unknown }).cause;
    if (cause && cause !== err) return isInfrastructureError(cause);
  }
  return false;
}
