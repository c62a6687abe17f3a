import { sql } from "drizzle-orm";
import { rows, type Database, type Executor } from "../../db/database";
import { BadRequestError, ConflictError, UserNotFoundError } from "../../errors";
import type { Logger } from "../../logger";

export interface ZoomIdentity {
  userId: string;
  zoomUserId: string | null;
}

/**
 * Who a Zoom event belongs to: the user the operator linked to the host's Zoom user id
 * (PUT /sandbox/users/:userId/zoom). Events for anyone else are acknowledged and dropped.
 *
 * Nothing an agent says moves this link, and an email never routes: a prompt-injected agent could
 * otherwise claim another user's Zoom account and receive their meetings (audit 15.1). One Zoom id
 * per user (a column of users) and one user per Zoom id (users_zoom_user_id_key).
 */
export class ZoomUsers {
  private readonly log: Logger;

  constructor(private readonly opts: { database: Database; logger: Logger }) {
    this.log = opts.logger.child({ component: "zoom-users" });
  }

  /** The user linked to the host's Zoom user id (Zoom's host_id / operator_id), or null. */
  async findHost(db: Executor, host: { hostId?: string }): Promise<string | null> {
    if (!host.hostId) return null;
    const [u] = await rows<{ id: string }>(db, sql`SELECT id FROM users WHERE zoom_user_id = ${host.hostId} LIMIT 1`);
    return u?.id ?? null;
  }

  /** The operator's link; an empty string clears it. Throws BadRequest, NotFound, or Conflict (id taken). */
  async link(userId: string, change: { zoomUserId: string }): Promise<ZoomIdentity> {
    const zoomUserId = change.zoomUserId.trim();
    if (zoomUserId.length > 128) throw new BadRequestError("zoomUserId is too long");
    if (zoomUserId) {
      const [other] = await rows<{ id: string }>(this.opts.database.db, sql`SELECT id FROM users WHERE zoom_user_id = ${zoomUserId} AND id <> ${userId}`);
      if (other) throw new ConflictError("that Zoom user id is already linked to another user");
    }
    try {
      const [u] = await rows<{ id: string; zoom_user_id: string | null }>(
        this.opts.database.db,
        sql`UPDATE users SET zoom_user_id = NULLIF(${zoomUserId}, '') WHERE id = ${userId} RETURNING id, zoom_user_id`,
      );
      if (!u) throw new UserNotFoundError(userId);
      this.log.info({ userId, linked: u.zoom_user_id !== null }, "zoom identity set by the operator");
      return { userId: u.id, zoomUserId: u.zoom_user_id };
    } catch (err) {
      // Two linkers racing for one id: the unique index decides.
      if ((err as { code?: string }).code === "23505" || /users_zoom_user_id_key/.test(String((err as Error).message))) {
        throw new ConflictError("that Zoom user id is already linked to another user");
      }
      throw err;
    }
  }
}
