import express, { Router } from "express";
import { z } from "zod";
import { BadRequestError } from "../errors";
import type { ProfileService } from "./profile-service";

const ProfileBody = z
  .object({
    timezone: z.string().optional(),
    activeHoursStart: z.string().optional(),
    activeHoursEnd: z.string().optional(),
  })
  .strict();

/**
 * Admin routes for a user's proactive settings, in the /sandbox admin router (admin-router.ts):
 *   GET /users/:userId/profile  the time zone, active hours and next heartbeat
 *   PUT /users/:userId/profile  {timezone?, activeHoursStart?, activeHoursEnd?}
 */
export function createSchedulerAdminRouter(opts: { profiles: ProfileService }): Router {
  const router = Router();
  router.use("/users/:userId/profile", express.json({ limit: "16kb" }));

  router.get("/users/:userId/profile", async (req, res) => {
    res.json(await opts.profiles.get(req.params.userId!));
  });

  router.put("/users/:userId/profile", async (req, res) => {
    const body = ProfileBody.safeParse(req.body ?? {});
    if (!body.success) {
      throw new BadRequestError("body must be {timezone?, activeHoursStart?, activeHoursEnd?}", {
        problems: body.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`),
      });
    }
    res.json(await opts.profiles.update(req.params.userId!, body.data));
  });
  return router;
}
