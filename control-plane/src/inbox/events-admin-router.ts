import { Router } from "express";
import type { Database } from "../db/database";
import { BadRequestError } from "../errors";
import type { Inbox } from "./inbox";

/**
 * GET /users/:userId/events?limit=N: the user's last N inbox events with their status, newest
 * first, for the operator. main mounts it under /sandbox behind requireAdmin.
 */
export function createEventsAdminRouter(deps: { database: Database; inbox: Inbox }): Router {
  const router = Router();
  router.get("/users/:userId/events", async (req, res, next) => {
    try {
      const raw = req.query.limit;
      const limit = raw === undefined ? 50 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequestError("limit must be a whole number from 1 to 500");
      const events = await deps.inbox.recent(deps.database.db, String(req.params.userId), limit);
      res.json({ userId: req.params.userId, events });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
