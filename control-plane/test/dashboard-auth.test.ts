import { readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";

const TOKEN = "dashboard-auth-admin-token-0123456789";
const PHONE = "15550100188";

/**
 * Every API call the dashboard's pages make, read from its script, so a call added to a page
 * without a guard fails here. `${...}` parts are filled from what they name; filePath(...) calls
 * are the workspace file routes, listed by hand below.
 */
function pageApiCalls(fill: Record<string, string>): { method: string; path: string }[] {
  const script = readFileSync(path.resolve(__dirname, "../src/admin/dashboard/assets/app.js"), "utf8");
  const calls: { method: string; path: string }[] = [];
  for (const m of script.matchAll(/api\("([A-Z]+)", (?:"([^"]+)"|`([^`]+)`|(base)\b)/g)) {
    const raw = m[2] ?? m[3] ?? "${base}";
    const filled = raw.replace(/\$\{([^}]+)\}/g, (_, expr: string) => {
      if (!(expr in fill)) throw new Error(`dashboard-auth.test.ts does not know how to fill \${${expr}} in ${raw}: add it`);
      return fill[expr]!;
    });
    calls.push({ method: m[1]!, path: filled });
  }
  return calls;
}

describe("the dashboard without the admin token", () => {
  let cp: ControlPlane;
  let userId: string;
  let calls: { method: string; path: string }[];

  beforeAll(async () => {
    cp = await startTestControlPlane({ ADMIN_TOKEN: TOKEN });
    [{ id: userId }] = (await rows<{ id: string }>(cp.database.db, sql`INSERT INTO users (phone, wa_id, name) VALUES (${PHONE}, ${PHONE}, 'Secret Name') RETURNING id`)) as [{ id: string }];
    const base = `/sandbox/${userId}`;
    const fill = { base, "encodeURIComponent(userId)": userId, name: "stop", phone: PHONE, "exportBox.checked": "true" };
    calls = [
      ...pageApiCalls(fill),
      // filePath(path): the workspace file a page opens and saves.
      { method: "GET", path: `${base}/workspace/SOUL.md` },
      { method: "PUT", path: `${base}/workspace/SOUL.md` },
      // The rest of /sandbox/*, which the pages reach only through the routes above.
      { method: "POST", path: `${base}/start` },
      { method: "POST", path: `${base}/restart` },
      { method: "GET", path: `/sandbox/users/${userId}/events` },
      { method: "GET", path: `/sandbox/users/${userId}/budget` },
      { method: "PUT", path: `/sandbox/users/${userId}/profile` },
      { method: "POST", path: "/sandbox" },
    ];
  }, 60_000);
  afterAll(() => cp?.stop(), 60_000);

  it("finds every API call the pages make", () => {
    const paths = calls.map((c) => `${c.method} ${c.path.replace(userId, ":id").replace(PHONE, ":phone")}`);
    for (const expected of [
      "GET /sandbox",
      "GET /sandbox/usage",
      "POST /sandbox/:id/stop",
      "DELETE /sandbox/:id?export=true",
      "GET /sandbox/users/:id/messages?limit=200",
      "GET /sandbox/users/:id/workspace",
      "GET /sandbox/:id/logs?tail=200",
      "GET /sandbox/:id/usage",
      "GET /admin/api/console",
      "GET /admin/api/console/chats/:phone",
      "POST /admin/api/console/messages",
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it.each([
    ["no Authorization header", undefined],
    ["a wrong bearer token", `Bearer ${TOKEN.replace(/.$/, "x")}`],
    ["the token under another scheme", `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`],
    ["an empty bearer", "Bearer "],
  ])("refuses every page's API call and every /sandbox call with %s (401), and does nothing", async (_name, authorization) => {
    for (const call of calls) {
      const res = await fetch(`${cp.url}${call.path}`, {
        method: call.method,
        headers: { ...(authorization !== undefined ? { authorization } : {}), "content-type": "application/json" },
        body: call.method === "GET" ? undefined : JSON.stringify({ phone: PHONE, text: "hello", content: "pwned" }),
      });
      const body = (await res.json().catch(() => undefined)) as any;
      expect({ call, status: res.status, code: body?.error?.code }).toEqual({ call, status: 401, code: "unauthorized" });
      expect(JSON.stringify(body)).not.toContain("Secret Name");
    }
    // Nothing happened: the user is there, no sandbox was made, no message was sent or stored.
    const [state] = await rows<{ users: number; sandboxes: number; messages: number; events: number }>(
      cp.database.db,
      sql`SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM sandboxes) AS sandboxes,
                 (SELECT count(*)::int FROM messages) AS messages, (SELECT count(*)::int FROM inbox_events) AS events`,
    );
    expect(state).toEqual({ users: 1, sandboxes: 0, messages: 0, events: 0 });
  }, 60_000);

  it("answers the same calls with the token (the guard is the only thing in the way)", async () => {
    const ok = await fetch(`${cp.url}/sandbox/users/${userId}/messages`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json() as any).toEqual({ userId, entries: [] });
    const console = await fetch(`${cp.url}/admin/api/console`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await console.json() as any).toMatchObject({ enabled: true, businessNumber: expect.stringMatching(/^\d+$/) });
  });

  it("serves a page shell that holds no data and no secret, under a strict content security policy", async () => {
    for (const p of ["/admin", "/admin/", "/admin/assets/app.js", "/admin/assets/app.css"]) {
      const res = await fetch(`${cp.url}${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const text = await res.text();
      for (const secret of [TOKEN, PHONE, "Secret Name", userId]) expect(text).not.toContain(secret);
    }
    expect((await fetch(`${cp.url}/admin/assets/../../sandbox`)).status).not.toBe(200);
    expect((await fetch(`${cp.url}/admin/assets/nope.js`)).status).toBe(404);
  });

  it("keeps the local Graph API sink behind its own access token, not the admin token", async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}`]) {
      const res = await fetch(`${cp.url}/local-graph/v22.0/123/messages`, {
        method: "POST",
        headers: { ...(authorization ? { authorization } : {}), "content-type": "application/json" },
        body: JSON.stringify({ messaging_product: "whatsapp", to: PHONE, type: "text", text: { body: "spoofed" } }),
      });
      expect(res.status).toBe(401);
      expect((await res.json() as any).error).toMatchObject({ code: 190, type: "OAuthException" });
    }
  });
});
