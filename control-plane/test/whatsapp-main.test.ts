import { sql } from "drizzle-orm";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { sample, sign, statusSample } from "../../test-support/meta-samples";
import { rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { UNSUPPORTED_REPLY } from "../src/channels/whatsapp";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN, waitFor } from "./whatsapp-harness";

describe("WhatsApp wired into the control plane", () => {
  let cp: ControlPlane;
  let fake: FakeGraphApi;
  beforeAll(async () => {
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    cp = await startTestControlPlane({
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
      WHATSAPP_API_BASE_URL: fake.baseUrl,
    });
  });
  afterAll(async () => {
    await cp?.stop();
    await fake?.stop();
  });

  // A sticker needs no agent turn (so no sandbox is started here): it is stored and answered
  // straight from the outbox, which exercises webhook → outbox → adapter → Graph API → statuses.
  it("verifies, stores a signed message, answers through the Graph API and tracks the answer to read", async () => {
    const challenge = await fetch(`${cp.url}/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`);
    expect(await challenge.text()).toBe("42");

    const body = sample("sticker");
    const res = await fetch(`${cp.url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, APP_SECRET) }, body });
    expect(res.status).toBe(200);
    const db = cp.database.db;
    await waitFor(async () => fake.sentMessages().length === 1, 8000, "the reply at the Graph API");
    // Quoting the sticker, so the user sees which message the assistant could not read.
    expect(fake.sentMessages()[0]).toMatchObject({ to: "16505551234", text: { body: UNSUPPORTED_REPLY }, context: { message_id: "wamid.STICKER00000000000000000000000000000001" } });

    const [msg] = await waitFor(async () => {
      const r = await rows<{ provider_id: string | null }>(db, sql`SELECT provider_id FROM messages WHERE direction = 'out'`);
      return r[0]?.provider_id ? r : undefined;
    });
    const status = statusSample(msg!.provider_id!, "read");
    await fetch(`${cp.url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(status, APP_SECRET) }, body: status });
    const [after] = await rows<{ status: string }>(db, sql`SELECT status FROM messages WHERE direction = 'out'`);
    expect(after!.status).toBe("read");
  });
});

describe("WhatsApp when the control plane has no WhatsApp config", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane();
  });
  afterAll(() => cp?.stop());

  // It runs against the built-in local Graph API sink with generated secrets (the dashboard's chat
  // console drives it; dashboard-console.test.ts): the webhook still refuses what is not signed.
  it("runs the channel on generated local credentials and still refuses an unsigned webhook", async () => {
    expect(cp.whatsapp.mode).toBe("local");
    const res = await fetch(`${cp.url}/whatsapp/webhook`, { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
    expect((await res.json() as any).error.code).toBe("bad_signature");
  });
});
