import { BadRequestError } from "../errors";

/**
 * A workspace path from a URL, checked in the control plane before it reaches the agent (which
 * checks again): relative, no "." or ".." segments, no backslashes or NUL, at most 256 characters.
 */
export function safeWorkspacePath(raw: string | string[] | undefined): string {
  const joined = Array.isArray(raw) ? raw.join("/") : (raw ?? "");
  const refuse = (why: string) => new BadRequestError(`workspace path refused: ${why}`);
  if (joined.length === 0) throw refuse("empty");
  if (joined.length > 256) throw refuse("longer than 256 characters");
  if (/[\\\0]/.test(joined)) throw refuse("backslashes and NUL are not allowed");
  if (joined.startsWith("/") || /^[A-Za-z]:/.test(joined)) throw refuse("must be relative to the workspace");
  const segments = joined.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) throw refuse("empty, '.' and '..' segments are not allowed");
  return joined;
}
