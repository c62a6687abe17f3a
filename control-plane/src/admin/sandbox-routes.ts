import express, { Router, type Request } from "express";
import { eq } from "drizzle-orm";
import type { MethodName, MethodParams, MethodResult } from "@concierge/protocol";
import { z } from "zod";
import type { Db } from "../db/database";
import { users, type Sandbox, type User } from "../db/schema";
import type { Logger } from "../logger";
import { AppError, BadRequestError, NotFoundError, UserNotFoundError } from "../errors";
import type { AgentPort } from "../agent-port";
import { AgentRequestError, AgentUnavailableError } from "../connections/errors";
import type { SandboxService } from "../sandboxes/sandbox-service";
import { SandboxUnavailableError } from "../sandboxes/runtime";
import { safeWorkspacePath } from "./workspace-path";
import { exportUserRows } from "./user-data-export";

export interface SandboxRoutesOptions {
  db: Db;
  service: SandboxService;
  agent: AgentPort;
  defaultTimezone: string;
  logger: Logger;
  /** The LLM gateway's usage query for one user; absent until that part is wired. */
  usage?: (userId: string) => Promise<unknown>;
  /** Called after a user is deleted, for state outside the database (the local WhatsApp sink's chat). */
  onUserDeleted?: (user: User) => void;
}

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
const ProvisionBody = z
  .object({
    phone: z.string().trim().regex(/^\+?[0-9][0-9 ()-]{5,20}$/, "must be a phone number in international form").optional(),
    name: z.string().trim().min(1).max(200).optional(),
    timezone: z.string().refine(isTimeZone, "must be an IANA time zone like Europe/Berlin").optional(),
  })
  .strict();

/** E.164 digits without "+", as users.phone stores them. */
const normalizePhone = (p: string) => p.replace(/[^0-9]/g, "");

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new BadRequestError(r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return r.data;
}

/** Agent failures in the API's error shape; the agent's own words only for its client errors. */
function agentError(err: unknown): Error {
  if (err instanceof AgentRequestError) {
    if (err.code === "not_found") return new NotFoundError(err.message);
    if (err.code === "bad_request") return new BadRequestError(err.message);
    return new AppError("the agent could not do that", 502, "agent_error");
  }
  if (err instanceof AgentUnavailableError) return new SandboxUnavailableError("the agent did not answer");
  return err as Error;
}

/**
 * /sandbox/*: list, get, provision, start, stop, restart, delete, logs, workspace files, usage.
 * Mounted last in the admin router (admin-router.ts checks the token): /:key takes any one segment.
 */
export function createSandboxRouter(opts: SandboxRoutesOptions): Router {
  const router = Router();
  const { db, service } = opts;
  const log = opts.logger.child({ component: "admin" });

  router.use(express.json({ limit: "2mb" }));
  router.use(express.text({ type: "text/*", limit: "2mb" }));

  async function findUser(key: string): Promise<User> {
    const [byId] = await db.select().from(users).where(eq(users.id, key));
    if (byId) return byId;
    const phone = normalizePhone(key);
    if (phone.length >= 6) {
      const [byPhone] = await db.select().from(users).where(eq(users.phone, phone));
      if (byPhone) return byPhone;
    }
    throw new UserNotFoundError(key);
  }

  async function view(user: User, sandbox: Sandbox | null) {
    const memoryBytes = sandbox?.state === "running" ? await service.runtime.memoryUsage({ userId: user.id }).catch(() => null) : null;
    return {
      userId: user.id,
      phone: user.phone,
      name: user.name,
      timezone: user.timezone,
      sandbox: sandbox
        ? {
            id: sandbox.id,
            state: sandbox.state,
            runtime: service.runtime.kind,
            image: sandbox.image,
            configHash: sandbox.configHash,
            endpoint: sandbox.endpoint,
            lastActivityAt: sandbox.lastActivityAt.toISOString(),
            memoryBytes,
            crashCount: sandbox.crashCount,
            error: sandbox.error,
            createdAt: sandbox.createdAt.toISOString(),
          }
        : null,
    };
  }

  const key = (req: Request) => String(req.params.key);

  /** Asks the user's agent (waking its sandbox); the operator's look counts as activity. */
  async function ask<M extends MethodName>(userId: string, method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const result = await opts.agent.call(userId, method, params).catch((err) => {
      throw agentError(err);
    });
    await service.touch(userId);
    return result;
  }

  router.get("/", async (_req, res) => {
    const all = await service.list();
    res.json({ sandboxes: await Promise.all(all.map(({ user, sandbox }) => view(user, sandbox))) });
  });

  router.post("/", async (req, res) => {
    const body = parse(ProvisionBody, req.body);
    const phone = body.phone ? normalizePhone(body.phone) : undefined;
    let user: User | undefined;
    if (phone) [user] = await db.select().from(users).where(eq(users.phone, phone));
    if (!user) {
      // onConflictDoNothing: two admins provisioning the same phone at once get the same user.
      [user] = await db
        .insert(users)
        .values({ phone: phone ?? null, name: body.name ?? null, timezone: body.timezone ?? opts.defaultTimezone })
        .onConflictDoNothing()
        .returning();
      if (!user && phone) [user] = await db.select().from(users).where(eq(users.phone, phone));
      if (!user) throw new AppError("could not create the user", 500, "internal");
    }
    await service.ensure(user.id);
    log.info({ userId: user.id }, "provisioned sandbox");
    res.status(201).json(await view(user, await service.get(user.id)));
  });

  router.get("/:key", async (req, res) => {
    const user = await findUser(key(req));
    res.json(await view(user, await service.get(user.id)));
  });

  for (const action of ["start", "stop", "restart"] as const) {
    router.post(`/:key/${action}`, async (req, res) => {
      const user = await findUser(key(req));
      await service[action](user.id);
      res.json(await view(user, await service.get(user.id)));
    });
  }

  router.delete("/:key", async (req, res) => {
    const user = await findUser(key(req));
    const exportFirst = req.query.export === "true" || req.query.export === "1";
    // The control plane's own rows, read before the delete cascades them away.
    const controlPlane = exportFirst ? await exportUserRows(opts.db, user.id) : undefined;
    const result = await service.delete(user.id, { exportFirst }).catch((err) => {
      throw agentError(err);
    });
    opts.onUserDeleted?.(user);
    log.info({ userId: user.id, exported: exportFirst }, "deleted sandbox and user");
    res.json({ deleted: true, userId: user.id, ...(result.export ? { export: { ...result.export, controlPlane } } : {}) });
  });

  router.get("/:key/logs", async (req, res) => {
    const user = await findUser(key(req));
    const tail = req.query.tail === undefined ? 200 : Number(req.query.tail);
    if (!Number.isInteger(tail) || tail < 1 || tail > 10_000) throw new BadRequestError("tail must be a whole number from 1 to 10000");
    const text = await service.runtime.logs({ userId: user.id, tail });
    res.type("text/plain").send(text);
  });

  router.get("/:key/workspace/*path", async (req, res) => {
    const path = safeWorkspacePath(req.params.path as string | string[]);
    const user = await findUser(key(req));
    const file = await ask(user.id, "workspace.read", { path });
    if (req.accepts(["text/plain", "application/json"]) === "application/json") res.json(file);
    else res.type("text/markdown").send(file.content);
  });

  router.put("/:key/workspace/*path", async (req, res) => {
    const path = safeWorkspacePath(req.params.path as string | string[]);
    const content = typeof req.body === "string" ? req.body : parse(z.object({ content: z.string() }).strict(), req.body).content;
    const user = await findUser(key(req));
    res.json(await ask(user.id, "workspace.write", { path, content }));
  });

  router.get("/:key/usage", async (req, res) => {
    const user = await findUser(key(req));
    if (!opts.usage) throw new AppError("usage metering is not configured", 501, "not_implemented");
    res.json({ userId: user.id, usage: await opts.usage(user.id) });
  });

  return router;
}
