import { and, eq } from "drizzle-orm";
import type { Clock } from "../clock";
import type { Db } from "../db/database";
import { sandboxes } from "../db/schema";
import { hashToken } from "../sandboxes/token";

export interface SandboxIdentity {
  sandboxId: string;
  userId: string;
}

/** Most entries the cache holds before it starts over: bounds memory against token spraying. */
const MAX_CACHED = 10_000;

/**
 * Resolves a sandbox's bearer token to its sandbox and user by sha256 (the token itself is never
 * stored). Hits are cached for a few seconds because every LLM call passes through here; the TTL
 * bounds how long a stopped or deleted sandbox's token keeps working on another replica, and
 * `forget` ends it at once on this one when the sandbox service stops, re-keys or deletes it. Misses are not cached, so a freshly created sandbox works immediately.
 */
export class SandboxAuthenticator {
  private readonly cache = new Map<string, { identity: SandboxIdentity; expiresAt: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly ttlMs = 5_000,
  ) {}

  /** The identity behind an `Authorization` header value, or null when it names no running sandbox. */
  async fromAuthorizationHeader(header: string | undefined): Promise<SandboxIdentity | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) return null;
    return this.authenticate(match[1]!);
  }

  async authenticate(token: string): Promise<SandboxIdentity | null> {
    const tokenHash = hashToken(token);
    const now = this.clock.now().getTime();
    const hit = this.cache.get(tokenHash);
    if (hit && hit.expiresAt > now) return hit.identity;
    this.cache.delete(tokenHash);

    const [row] = await this.db
      .select({ sandboxId: sandboxes.id, userId: sandboxes.userId })
      .from(sandboxes)
      // Only a running sandbox may call: a stopped (or stopping, frozen, deleted) one has no agent
      // that should, so its token, wherever it leaked, buys nothing.
      .where(and(eq(sandboxes.tokenHash, tokenHash), eq(sandboxes.state, "running")))
      .limit(1);
    if (!row) return null;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(tokenHash, { identity: row, expiresAt: now + this.ttlMs });
    return row;
  }

  /** Drops cached entries for one sandbox (it was deleted or re-keyed), or all of them. */
  forget(sandboxId?: string): void {
    for (const [hash, entry] of this.cache) {
      if (sandboxId === undefined || entry.identity.sandboxId === sandboxId) this.cache.delete(hash);
    }
  }
}
