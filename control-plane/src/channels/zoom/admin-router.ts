import express, { Router } from "express";
import { z } from "zod";
import { BadRequestError } from "../../errors";
import type { ZoomUsers } from "./zoom-users";

const Body = z.object({ zoomUserId: z.string() }).strict();

/**
 * PUT /users/:userId/zoom {zoomUserId}, in the /sandbox admin router (admin-router.ts): the operator links a user to the
 * Zoom account (its Zoom user id, the host_id of its meetings) whose meetings their assistant
 * follows. An empty string clears the link. The only way a Zoom identity is set.
 */
export function createZoomAdminRouter(o: { users: ZoomUsers }): Router {
  const router = Router();
  router.put("/users/:userId/zoom", express.json({ limit: "16kb" }), async (req, res, next) => {
    try {
      const body = Body.safeParse(req.body ?? {});
      if (!body.success) throw new BadRequestError("body must be {zoomUserId: string}", { problems: body.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) });
      res.json(await o.users.link(String(req.params.userId), body.data));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
