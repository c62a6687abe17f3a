import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { waitFor } from "../../test-support/wait-for";

const ADMIN = "audit-gdpr-admin-token-0123456789";
const PHONE = "4915123456789";

/** The real control plane on its local defaults: the chat console is the user's phone. */
describe("audit 15.16: GDPR export holds only agent data", () => {
  let cp: ControlPlane;
  let dataDir: string;
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${cp.url}${p}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...init.headers } });
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-gdpr-"));
    cp = await startTestControlPlane({ DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN });
  }, 60_000);
  afterAll(async () => {
    await cp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("exports the control plane's own rows, and after delete nothing of the user is left in its tables or the local sink", async () => {
    const sent = await api("/admin/api/console/messages", { method: "POST", body: JSON.stringify({ phone: PHONE, text: "add buy oat milk to my tasks", name: "Gita" }) });
    expect(sent.status).toBe(201);
    const { userId } = (await sent.json()) as { userId: string };
    // The turn ran: the agent's reply reached the user's (local) phone.
    await waitFor(async () => {
      const chat = (await (await api(`/admin/api/console/chats/${PHONE}`)).json()) as { messages: { direction: string }[] };
      return chat.messages.some((m) => m.direction === "out");
    }, 60_000, "the reply", 100);

    const res = await api(`/sandbox/${userId}?export=true`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { export: { controlPlane: Record<string, any> } };
    const mine = body.export.controlPlane;
    expect(mine.user).toMatchObject({ id: userId, phone: PHONE, name: "Gita" });
    expect(mine.messages.map((m: { direction: string; body: string }) => m.direction)).toEqual(expect.arrayContaining(["in", "out"]));
    expect(JSON.stringify(mine.messages)).toContain("buy oat milk");
    expect(JSON.stringify(mine.inboxEvents)).toContain("buy oat milk");
    expect(mine.outbox.length).toBeGreaterThan(0);
    for (const key of ["calls", "meetings", "llmUsage", "schedules"]) expect(Array.isArray(mine[key])).toBe(true);
    expect(JSON.stringify(mine.sandbox)).not.toContain("tokenHash");

    // Nothing of the user in any table: neither their id nor their number nor what they wrote.
    const tables = await rows<{ table_name: string }>(
      cp.database.db,
      sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(5);
    for (const { table_name } of tables) {
      const all = JSON.stringify(await rows(cp.database.db, sql.raw(`SELECT * FROM "${table_name}"`)));
      expect([table_name, all.includes(userId) || all.includes(PHONE) || all.includes("oat milk")]).toEqual([table_name, false]);
    }
    // And the local sink (the console's phone) forgot the chat.
    const chat = (await (await api(`/admin/api/console/chats/${PHONE}`)).json()) as { messages: unknown[] };
    expect(chat.messages).toEqual([]);
  }, 120_000);
});
