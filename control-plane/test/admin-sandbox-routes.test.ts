import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { Registry } from "prom-client";
import { createApp } from "../src/http/app";
import { createSandboxRouter } from "../src/admin/sandbox-routes";
import { createAdminRouter } from "../src/admin/admin-router";
import { createAgentPort } from "../src/agent-port";
import { users } from "../src/db/schema";
import { createSandboxHarness, readOnVolume, type SandboxHarness } from "../../test-support/sandbox-harness";

/**
 * The admin REST end to end: a real HTTP server, the real SandboxService on the process runtime
 * with the real agent, real database. (The Docker runtime's behaviour is covered by the service
 * suites; this API does not care which runtime is underneath.)
 */
const ADMIN = "admin-token-for-tests-0123456789";

describe("admin REST /sandbox", () => {
  let h: SandboxHarness;
  let server: Server;
  let base: string;
  const usageCalls: string[] = [];

  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? ADMIN}`);
    return fetch(`${base}/sandbox${path}`, { ...init, headers, signal: AbortSignal.timeout(60_000) });
  };
  const json = async (res: Response) => (await res.json()) as any;

  beforeAll(async () => {
    h = await createSandboxHarness({ kind: "process" });
    const sandboxRoutes = createSandboxRouter({
      db: h.testDb.database.db,
      service: h.service,
      agent: createAgentPort({ sandboxes: h.service, connections: h.connections }),
      defaultTimezone: "UTC",
      logger: h.logger,
      usage: async (userId) => {
        usageCalls.push(userId);
        return { month: "2026-11", costUsd: 0.12, budgetUsd: 10 };
      },
    });
    const router = createAdminRouter({ adminToken: ADMIN, routes: [sandboxRoutes] });
    const app = createApp({ logger: h.logger, metrics: new Registry(), isReady: async () => true, routers: [{ path: "/sandbox", router }] });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    await h.cleanup();
  }, 60_000);

  it("refuses every route without the admin token, with the API's error shape", async () => {
    for (const [method, path] of [
      ["GET", ""],
      ["POST", ""],
      ["GET", "/x"],
      ["POST", "/x/start"],
      ["POST", "/x/stop"],
      ["POST", "/x/restart"],
      ["DELETE", "/x"],
      ["GET", "/x/logs"],
      ["GET", "/x/workspace/SOUL.md"],
      ["PUT", "/x/workspace/SOUL.md"],
      ["GET", "/x/usage"],
    ] as const) {
      const res = await api(path, { method, token: null });
      expect([method, path, res.status]).toEqual([method, path, 401]);
      expect(await json(res)).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      const wrong = await api(path, { method, token: "not-the-admin-token-at-all" });
      expect(wrong.status).toBe(401);
    }
  });

  it("serves its OpenAPI description, which names every route", async () => {
    const res = await api("/openapi.json", { token: null });
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/", "/{key}", "/{key}/start", "/{key}/stop", "/{key}/restart", "/{key}/logs", "/{key}/workspace/{path}", "/{key}/usage",
        // Routes other roles mount under /sandbox: usage and budgets, profile, Zoom link, events, timeline.
        "/usage", "/users/{userId}/usage", "/users/{userId}/budget", "/users/{userId}/profile", "/users/{userId}/zoom",
        "/users/{userId}/events", "/users/{userId}/messages", "/users/{userId}/workspace",
      ]),
    );
  });

  let userId: string;
  const phone = `4915${String(Date.now()).slice(-8)}`;

  it("POST /sandbox creates the user and provisions a running sandbox", async () => {
    const res = await api("", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone: `+${phone}`, name: "Ada", timezone: "Europe/Berlin" }) });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({ phone, name: "Ada", timezone: "Europe/Berlin", sandbox: { state: "running", runtime: "process" } });
    expect(body.sandbox.memoryBytes).toBeGreaterThan(0);
    userId = body.userId;
    // Provisioning the same phone again reuses the user and its sandbox.
    const again = await json(await api("", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone }) }));
    expect(again.userId).toBe(userId);
    expect(again.sandbox.id).toBe(body.sandbox.id);
  });

  it("rejects a bad body with a 400 naming the field", async () => {
    const res = await api("", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ timezone: "Mars/Olympus" }) });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "bad_request", message: expect.stringContaining("timezone") });
  });

  it("lists sandboxes and gets one by user id or phone", async () => {
    const list = await json(await api(""));
    expect(list.sandboxes.map((s: any) => s.userId)).toContain(userId);
    const byId = await json(await api(`/${userId}`));
    const byPhone = await json(await api(`/${encodeURIComponent(`+${phone}`)}`));
    expect(byPhone).toEqual({ ...byId, sandbox: { ...byId.sandbox, memoryBytes: expect.anything() } });
    expect(byId.sandbox).toMatchObject({ state: "running", lastActivityAt: expect.any(String) });
    expect(JSON.stringify(byId)).not.toMatch(/token/i);
    const missing = await api("/no-such-user");
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe("not_found");
  });

  it("stops, starts and restarts", async () => {
    const stopped = await json(await api(`/${userId}/stop`, { method: "POST" }));
    expect(stopped.sandbox.state).toBe("stopped");
    expect((await h.runtime.inspect({ userId }))!.running).toBe(false);
    const started = await json(await api(`/${userId}/start`, { method: "POST" }));
    expect(started.sandbox.state).toBe("running");
    const before = (await h.runtime.inspect({ userId }))!.startedAt!.getTime();
    const restarted = await json(await api(`/${userId}/restart`, { method: "POST" }));
    expect(restarted.sandbox.state).toBe("running");
    expect((await h.runtime.inspect({ userId }))!.startedAt!.getTime()).toBeGreaterThan(before);
  });

  it("writes and reads workspace files through the agent", async () => {
    const put = await api(`/${userId}/workspace/notes/admin.md`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "# Written by the admin\n" });
    expect(put.status).toBe(200);
    expect(await json(put)).toMatchObject({ path: "notes/admin.md" });
    const get = await api(`/${userId}/workspace/notes/admin.md`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("# Written by the admin\n");
    // It really is on the user's volume.
    expect(readOnVolume(h, userId, "workspace/notes/admin.md")).toBe("# Written by the admin\n");
    const asJson = await json(await api(`/${userId}/workspace/notes/admin.md`, { headers: { accept: "application/json" } }));
    expect(asJson).toEqual({ path: "notes/admin.md", content: "# Written by the admin\n" });
  });

  it("refuses path traversal in the control plane, before the agent sees it", async () => {
    for (const p of ["..%2F..%2Fetc%2Fpasswd", "a/..%2F..%2Fagent.db", "%2Fetc%2Fpasswd", "..%5Cagent.db"]) {
      const res = await api(`/${userId}/workspace/${p}`);
      expect([p, res.status]).toEqual([p, 400]);
      expect((await json(res)).error.message).toMatch(/workspace path refused/);
      const put = await api(`/${userId}/workspace/${p}`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "x" });
      expect(put.status).toBe(400);
    }
    // fetch normalizes "../" away; a raw request sends it as is, and it is refused too.
    const raw = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const opts = { hostname, port, path: `/sandbox/${userId}/workspace/../../agent.db`, headers: { authorization: `Bearer ${ADMIN}` } };
      const req = request(opts, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(raw).toBe(400);
  });

  it("shows the agent's logs and the user's usage", async () => {
    const logs = await api(`/${userId}/logs?tail=5`);
    expect(logs.status).toBe(200);
    const text = await logs.text();
    expect(text.trim().split("\n").length).toBeLessThanOrEqual(5);
    expect(text.length).toBeGreaterThan(0);
    expect((await api(`/${userId}/logs?tail=-1`)).status).toBe(400);
    const usage = await json(await api(`/${userId}/usage`));
    expect(usage).toEqual({ userId, usage: { month: "2026-11", costUsd: 0.12, budgetUsd: 10 } });
    expect(usageCalls).toContain(userId);
  });

  it("DELETE ?export=true returns the user's data and removes sandbox, data and rows", async () => {
    const res = await api(`/${userId}?export=true`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ deleted: true, userId, export: { exportedAt: expect.any(String), workspace: expect.objectContaining({ "notes/admin.md": "# Written by the admin\n" }) } });
    expect(await h.runtime.inspect({ userId })).toBeNull();
    expect(await h.testDb.database.db.select().from(users).where(eq(users.id, userId))).toHaveLength(0);
    expect((await api(`/${userId}`)).status).toBe(404);
  });
});
