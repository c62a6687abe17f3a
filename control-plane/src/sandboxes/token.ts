import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * A sandbox's bearer token is derived from the control plane's token secret and the sandbox id,
 * so the control plane can present it when it dials the agent without storing it; at rest only its
 * sha256 is kept (sandboxes.token_hash), which is what the LLM gateway looks tokens up by.
 * The generation (sandboxes.token_generation) is raised whenever the container is (re)created, so
 * a new container gets a new token and the old one stops working; generation 0 is the token of
 * sandboxes made before generations existed, unchanged so that they keep working.
 */
export function deriveSandboxToken(tokenSecret: string, sandboxId: string, generation = 0): string {
  const input = generation === 0 ? `sandbox-token:v1:${sandboxId}` : `sandbox-token:v2:${sandboxId}:${generation}`;
  return `sbx_${createHmac("sha256", tokenSecret).update(input).digest("base64url")}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time string comparison (for bearer tokens). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
