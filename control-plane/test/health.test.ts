import { spawnSync } from "node:child_process";
import path from "node:path";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";

const METRICS_TOKEN = "metrics-token-for-the-health-test";

describeEachDriver("control plane process", (driver) => {
  let cp: ControlPlane;
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    if (driver === "postgres") t = await createTestDatabase("postgres");
    cp = await startTestControlPlane({ DATABASE_URL: t?.url, METRICS_TOKEN });
  });
  afterAll(async () => {
    await cp?.stop();
    await t?.cleanup();
  });

  it("answers /healthz and /readyz with 200 once migrated", async () => {
    expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${cp.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
  });

  it("audit 15.13: serves Prometheus metrics to the bearer of METRICS_TOKEN only", async () => {
    const res = await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("concierge_process_cpu_seconds_total");
    for (const headers of [{}, { authorization: "Bearer not-the-metrics-token" }, { authorization: METRICS_TOKEN }] as Record<string, string>[]) {
      const refused = await fetch(`${cp.url}/metrics`, { headers });
      expect(refused.status).toBe(401);
      expect(await refused.text()).not.toContain("concierge_");
    }
  });

  it("audit 15.4: serves sandboxes /llm/v1 on a listener of their own, and nothing else there", async () => {
    expect(new URL(cp.sandboxUrl).port).not.toBe(new URL(cp.url).port);
    // Reachable: a request without a sandbox token is refused by the gateway itself.
    expect((await fetch(`${cp.sandboxUrl}/llm/v1/models`)).status).toBe(401);
    for (const p of ["/metrics", "/sandbox/usage", "/whatsapp/webhook", "/admin", "/healthz", "/voice/webhook/voice", "/zoom/webhook"]) {
      expect([p, (await fetch(`${cp.sandboxUrl}${p}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status]).toEqual([p, 404]);
    }
    // And the main listener no longer serves the gateway.
    expect((await fetch(`${cp.url}/llm/v1/models`)).status).toBe(404);
  });

  it("answers an unknown route with a JSON 404", async () => {
    const res = await fetch(`${cp.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "no such route" } });
  });

  it("exits non-zero naming each problem when the environment is bad", () => {
    const main = path.resolve(__dirname, "../dist/main.js");
    const r = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, PORT: "abc", WHATSAPP_APP_SECRET: "x" },
      encoding: "utf8",
      timeout: 20000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT="abc": must be a whole number');
    expect(r.stderr).toContain("WHATSAPP_VERIFY_TOKEN, WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID: required when WHATSAPP_APP_SECRET is set");
  });
});
