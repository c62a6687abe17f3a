import { Router } from "express";
import { eq } from "drizzle-orm";
import type { Db } from "../../db/database";
import { users } from "../../db/schema";
import { AppError, BadRequestError, UserNotFoundError } from "../../errors";
import { AgentRequestError, AgentUnavailableError } from "../../connections/errors";
import type { SandboxService } from "../../sandboxes/sandbox-service";
import { SandboxUnavailableError } from "../../sandboxes/runtime";
import type { AgentPort } from "../../agent-port";
import { userTimeline } from "./timeline";

export interface UserReadsOptions {
  db: Db;
  service: SandboxService;
  agent: AgentPort;
}

/**
 * The reads the dashboard's user page needs beside /sandbox/*, in the admin router (admin-router.ts):
 *   GET /sandbox/users/:userId/messages?limit=N   the message timeline (timeline.ts)
 *   GET /sandbox/users/:userId/workspace          the workspace's files (wakes the sandbox)
 */
export function createUserReadsRouter(opts: UserReadsOptions): Router {
  const router = Router();

  const userExists = async (userId: string) => {
    const [u] = await opts.db.select({ id: users.id }).from(users).where(eq(users.id, userId));
    if (!u) throw new UserNotFoundError(userId);
  };

  router.get("/users/:userId/messages", async (req, res) => {
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequestError("limit must be a whole number from 1 to 1000");
    const userId = String(req.params.userId);
    await userExists(userId);
    res.json({ userId, entries: await userTimeline(opts.db, userId, limit) });
  });

  router.get("/users/:userId/workspace", async (req, res) => {
    const userId = String(req.params.userId);
    await userExists(userId);
    const listed = await opts.agent.call(userId, "workspace.list", {}).catch((err) => {
      if (err instanceof AgentUnavailableError) throw new SandboxUnavailableError("the agent did not answer");
      if (err instanceof AgentRequestError) throw new AppError("the agent could not list its workspace", 502, "agent_error");
      throw err;
    });
    await opts.service.touch(userId);
    res.json({ userId, files: [...listed.files].sort((a, b) => a.path.localeCompare(b.path)) });
  });

  return router;
}
