import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * A sandbox's bearer token is derived from the control plane's token secret and the sandbox id,
 * so the control plane can present it when it dials the agent without storing it; at rest only its
 * sha256 is kept (sandboxes.token_hash), which is what the LLM gateway looks tokens up by.
 */
export function deriveSandboxToken(tokenSecret: string, sandboxId: string): string {
  return `sbx_${createHmac("sha256", tokenSecret).update(`sandbox-token:v1:${sandboxId}`).digest("base64url")}`;
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
