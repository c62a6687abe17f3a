import { sql } from "drizzle-orm";
import { ProfileUpdatedEvent } from "@concierge/protocol";
import { rows, type Database, type Executor } from "../../db/database";
import { BadRequestError, ConflictError, UserNotFoundError } from "../../errors";
import type { Logger } from "../../logger";

export interface ZoomIdentity {
  userId: string;
  zoomUserId: string | null;
  email: string | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Who a Zoom event belongs to. A user links their Zoom identity (zoom user id, or the email their
 * Zoom account uses) through the admin API or the agent's profile tool; events for anyone else
 * are acknowledged and dropped.
 */
export class ZoomUsers {
  private readonly log: Logger;

  constructor(private readonly opts: { database: Database; logger: Logger }) {
    this.log = opts.logger.child({ component: "zoom-users" });
  }

  /** The user whose Zoom user id is hostId, else whose email is hostEmail (case-insensitive). */
  async findHost(db: Executor, host: { hostId?: string; hostEmail?: string }): Promise<string | null> {
    if (host.hostId) {
      const [u] = await rows<{ id: string }>(db, sql`SELECT id FROM users WHERE zoom_user_id = ${host.hostId} LIMIT 1`);
      if (u) return u.id;
    }
    if (host.hostEmail) {
      const [u] = await rows<{ id: string }>(db, sql`SELECT id FROM users WHERE lower(email) = lower(${host.hostEmail}) ORDER BY created_at LIMIT 1`);
      if (u) return u.id;
    }
    return null;
  }

  /** Sets either or both; an empty string clears. Throws BadRequest, NotFound, or Conflict (id taken). */
  async link(userId: string, change: { zoomUserId?: string; email?: string }): Promise<ZoomIdentity> {
    const norm = (v: string | undefined) => (v === undefined ? undefined : v.trim());
    const zoomUserId = norm(change.zoomUserId);
    const email = norm(change.email);
    if (zoomUserId === undefined && email === undefined) throw new BadRequestError("give zoomUserId, email, or both");
    if (zoomUserId !== undefined && zoomUserId.length > 128) throw new BadRequestError("zoomUserId is too long");
    if (email !== undefined && email !== "" && !EMAIL.test(email)) throw new BadRequestError("email must look like name@example.com");
    if (zoomUserId) {
      const [other] = await rows<{ id: string }>(this.opts.database.db, sql`SELECT id FROM users WHERE zoom_user_id = ${zoomUserId} AND id <> ${userId}`);
      if (other) throw new ConflictError("that Zoom user id is already linked to another user");
    }
    try {
      const [u] = await rows<{ id: string; zoom_user_id: string | null; email: string | null }>(
        this.opts.database.db,
        sql`UPDATE users SET
              zoom_user_id = CASE WHEN ${zoomUserId === undefined} THEN zoom_user_id ELSE NULLIF(${zoomUserId ?? ""}, '') END,
              email = CASE WHEN ${email === undefined} THEN email ELSE NULLIF(${email ?? ""}, '') END
            WHERE id = ${userId}
            RETURNING id, zoom_user_id, email`,
      );
      if (!u) throw new UserNotFoundError(userId);
      return { userId: u.id, zoomUserId: u.zoom_user_id, email: u.email };
    } catch (err) {
      // Two linkers racing for one id: the unique index decides.
      if ((err as { code?: string }).code === "23505" || /users_zoom_user_id_key/.test(String((err as Error).message))) {
        throw new ConflictError("that Zoom user id is already linked to another user");
      }
      throw err;
    }
  }

  /**
   * A ConnectionManager event listener: the agent's profile tool reports the user's email or Zoom
   * id (profile.updated); mirror them. Errors are logged, never thrown into the connection.
   */
  readonly onAgentEvent = (sandboxId: string, event: string, payload: unknown): void => {
    if (event !== "profile.updated") return;
    const p = ProfileUpdatedEvent.safeParse(payload);
    if (!p.success || (p.data.email === undefined && p.data.zoomUserId === undefined)) return;
    void (async () => {
      const [owner] = await rows<{ user_id: string }>(this.opts.database.db, sql`SELECT user_id FROM sandboxes WHERE id = ${sandboxId}`);
      if (!owner) return;
      await this.link(owner.user_id, { email: p.data.email, zoomUserId: p.data.zoomUserId });
      this.log.info({ userId: owner.user_id }, "zoom identity updated by the agent");
    })().catch((err) => this.log.warn({ err, sandboxId }, "could not apply the agent's zoom identity"));
  };
}
