import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { describeDocker } from "../../test-support/docker";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { sample, sign, statusSample, textWebhook } from "../../test-support/meta-samples";
import { createSandboxHarness, ensureAgentImage, type RuntimeName, type SandboxHarness } from "../../test-support/sandbox-harness";
import { rows } from "../src/db/database";
import { startChannelPath, type ChannelPath } from "./channel-path";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, waitFor } from "./whatsapp-harness";

/**
 * The whole WhatsApp path with a real agent: a signed webhook from a new user → inbox → a sandbox
 * is provisioned (real runtime, real agent, real signed WebSocket) → the agent answers → the reply
 * reaches the fake Graph API → a statuses webhook marks it read.
 */
function e2e(kind: RuntimeName) {
  let t: TestDatabase;
  let h: SandboxHarness;
  let fake: FakeGraphApi;
  let channel: ChannelPath;
  let url: string;

  beforeAll(async () => {
    if (kind === "docker") ensureAgentImage();
    t = await createTestDatabase();
    h = await createSandboxHarness({ kind, testDb: t });
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    channel = await startChannelPath({ t, h, graphBaseUrl: fake.baseUrl });
    url = channel.url;
  }, 600_000);

  afterAll(async () => {
    await channel?.stop();
    await fake?.stop();
    await h?.cleanup();
    await t?.cleanup();
  }, 120_000);

  const post = (body: Buffer) =>
    fetch(`${url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, APP_SECRET) }, body });

  it("answers a new user's first message through their own sandbox, and tracks the reply to read", async () => {
    const body = sample("text");
    const res = await post(body);
    expect(res.status).toBe(200);
    // The webhook answered once the event was stored, before the agent's turn produced anything.
    expect(fake.sentMessages()).toHaveLength(0);
    const [stored] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM inbox_events`);
    expect(stored!.n).toBe(1);
    // Meta delivers it again: still one turn, one reply.
    expect((await post(body)).status).toBe(200);

    await waitFor(async () => fake.sentMessages().length > 0, 90_000, "the agent's reply at the Graph API");
    const [user] = await rows<{ id: string }>(t.database.db, sql`SELECT id FROM users WHERE wa_id = '16505551234'`);
    const sandbox = await h.service.get(user!.id);
    expect(sandbox?.state).toBe("running");

    const reply = fake.sentMessages()[0];
    expect(reply).toMatchObject({ messaging_product: "whatsapp", to: "16505551234", type: "text" });
    expect(String(reply.text.body).length).toBeGreaterThan(0);
    // The user saw their message read, with "typing…", while the agent worked.
    expect(fake.readReceipts()[0]).toMatchObject({ message_id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", typing_indicator: { type: "text" } });

    const [out] = await waitFor(async () => {
      const r = await rows<{ id: string; provider_id: string | null; status: string }>(t.database.db, sql`SELECT id, provider_id, status FROM messages WHERE direction = 'out'`);
      return r[0]?.provider_id ? r : undefined;
    });
    expect((await post(statusSample(out!.provider_id!, "delivered"))).status).toBe(200);
    expect((await post(statusSample(out!.provider_id!, "read"))).status).toBe(200);
    const [after] = await rows<{ status: string }>(t.database.db, sql`SELECT status FROM messages WHERE id = ${out!.id}`);
    expect(after!.status).toBe("read");

    await new Promise((r) => setTimeout(r, 500));
    expect(fake.sentMessages()).toHaveLength(1);
    const [evt] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM inbox_events`);
    expect(evt!.n).toBe(1);
  }, 180_000);

  it("answers messages in German, Hindi, Arabic and emoji, sent raw and signed over Meta's escaped form", async () => {
    const before = fake.sentMessages().length;
    const texts = ["äöå", "Grüße aus München, wie geht's?", "नमस्ते, आज का मौसम कैसा है?", "مرحبا، كيف حالك؟", "🍕🍝 tonight? 👨‍👩‍👧"];
    for (const [i, text] of texts.entries()) {
      const body = textWebhook({ waId: "4915123456789", name: "Jürgen", body: text, wamid: `wamid.INTL.E2E.${i}` });
      expect((await post(body)).status).toBe(200);
    }
    await waitFor(async () => fake.sentMessages().length >= before + texts.length, 120_000, "a reply to every message");
    const replies = fake.sentMessages().slice(before);
    expect(replies.every((r) => r.to === "4915123456789" && String(r.text?.body ?? "").length > 0)).toBe(true);
    const stored = await rows<{ content: string }>(t.database.db, sql`SELECT content FROM messages WHERE direction = 'in' AND provider_id LIKE 'wamid.INTL.E2E.%' ORDER BY provider_id`);
    expect(stored.map((m) => m.content)).toEqual(texts);
  }, 180_000);
}

describe("WhatsApp end to end [process runtime]", () => e2e("process"));
describeDocker("WhatsApp end to end [docker runtime]", () => e2e("docker"));
