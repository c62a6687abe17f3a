import { sql } from "drizzle-orm";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { rows } from "../src/db/database";

const TOKEN = "scheduler-main-admin-token-0123456789";

describe("the scheduler wired into the control plane", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ ADMIN_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it("serves PUT /sandbox/users/:userId/profile behind the admin token and reschedules the heartbeat", async () => {
    const [u] = await rows<{ id: string }>(cp.database.db, sql`INSERT INTO users (phone) VALUES ('4915100000099') RETURNING id`);
    const url = `${cp.url}/sandbox/users/${u!.id}/profile`;
    const body = JSON.stringify({ timezone: "Asia/Kolkata", activeHoursStart: "08:00", activeHoursEnd: "22:00" });
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body })).status).toBe(401);
    const res = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body });
    expect(res.status).toBe(200);
    const profile = await res.json() as any;
    expect(profile).toMatchObject({ userId: u!.id, timezone: "Asia/Kolkata", activeHoursStart: "08:00", activeHoursEnd: "22:00" });
    const [s] = await rows<{ next_run_at: string | Date }>(cp.database.db, sql`SELECT next_run_at FROM schedules WHERE user_id = ${u!.id} AND kind = 'heartbeat'`);
    expect(new Date(s!.next_run_at).toISOString()).toBe(profile.nextHeartbeatAt);
  });

  it("exposes the proactive cost metrics", async () => {
    const text = await (await fetch(`${cp.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const name of ["concierge_heartbeats_run_total", "concierge_heartbeat_llm_calls_total", "concierge_heartbeat_llm_tokens_total", "concierge_heartbeats_skipped_total"]) {
      expect(text).toContain(name);
    }
  });
});
