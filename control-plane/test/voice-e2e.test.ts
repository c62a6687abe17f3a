import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { sample, sign } from "../../test-support/meta-samples";
import { createSandboxHarness, type SandboxHarness } from "../../test-support/sandbox-harness";
import { parseTwiml, postTwilio, type TwilioPost, type XmlElement } from "../../test-support/twilio-webhook";
import { createVoiceChannel } from "../src/channels/voice";
import { systemClock } from "../src/clock";
import { rows } from "../src/db/database";
import { startChannelPath, type ChannelPath } from "./channel-path";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, waitFor } from "./whatsapp-harness";

/**
 * A phone call with a real agent (process runtime, real signed WebSocket): someone who wrote on
 * WhatsApp calls the same number, talks for two turns, hangs up, and gets one call summary on
 * WhatsApp (inside the 24-hour window their message opened), sent through the fake Graph API.
 */
const AUTH_TOKEN = "e2e-twilio-auth-token";
const PUBLIC_BASE = "https://voice-e2e.example.test";

describe("Voice end to end [process runtime]", () => {
  let t: TestDatabase;
  let h: SandboxHarness;
  let fake: FakeGraphApi;
  let channel: ChannelPath;
  let twilio: TwilioPost;
  let url: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    h = await createSandboxHarness({ kind: "process", testDb: t });
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    channel = await startChannelPath({
      t,
      h,
      graphBaseUrl: fake.baseUrl,
      env: { PUBLIC_BASE_URL: PUBLIC_BASE, TWILIO_ACCOUNT_SID: "AC00000000000000000000000000000001", TWILIO_AUTH_TOKEN: AUTH_TOKEN },
      // As main.ts wires it.
      extend: ({ config, inbox, logger, agent }) => [
        createVoiceChannel({
          config,
          database: t.database,
          logger,
          clock: systemClock,
          inbox,
          agent,
          answerLimitMs: 3000,
          maxWaits: 40,
        }),
      ],
    });
    url = channel.url;
    twilio = { localBase: url, publicBase: PUBLIC_BASE, authToken: AUTH_TOKEN };
  }, 600_000);

  afterAll(async () => {
    await channel?.stop();
    await fake?.stop();
    await h?.cleanup();
    await t?.cleanup();
  }, 120_000);

  // An attested number (StirVerstat A): the caller is the WhatsApp user, with their full assistant.
  const params = (extra: Record<string, string>) => ({ CallSid: "CAe2e000000000000000000000000001", From: "+16505551234", To: "+18005550100", Direction: "inbound", CallStatus: "in-progress", StirVerstat: "TN-Validation-Passed-A", ...extra });

  /** One spoken turn, following filler redirects the way Twilio does until the reply comes. */
  async function say(text: string): Promise<XmlElement> {
    let doc = parseTwiml((await postTwilio(twilio, "/voice/webhook/gather", params({ SpeechResult: text, Confidence: "0.9" }))).body);
    for (let i = 0; i < 40 && doc.children.at(-1)?.name === "Redirect"; i++) {
      doc = parseTwiml((await postTwilio(twilio, doc.children.at(-1)!.text, params({}))).body);
    }
    return doc;
  }

  it("holds the summary of a caller whose WhatsApp window is closed (the outbox's rule, not ours)", async () => {
    const caller = { ...params({ CallStatus: "ringing" }), CallSid: "CAe2e000000000000000000000000002", From: "+4930123456" };
    await postTwilio(twilio, "/voice/webhook/voice", caller);
    let doc = parseTwiml((await postTwilio(twilio, "/voice/webhook/gather", { ...caller, SpeechResult: "list reminders" })).body);
    for (let i = 0; i < 40 && doc.children.at(-1)?.name === "Redirect"; i++) doc = parseTwiml((await postTwilio(twilio, doc.children.at(-1)!.text, caller)).body);
    expect(doc.children[0]!.name).toBe("Gather");
    const sent = fake.sentMessages().length;
    await postTwilio(twilio, "/voice/webhook/call-status", { ...caller, CallStatus: "completed", CallDuration: "9" });
    const [held] = await waitFor(async () => {
      const r = await rows<{ status: string; proactive: boolean; last_error: string | null }>(t.database.db, sql`SELECT o.status, o.proactive, o.last_error FROM outbox o JOIN users u ON u.id = o.user_id WHERE u.phone = '4930123456'`);
      // Wait for a settled row: "sending" is the moment between the claim and the adapter's verdict.
      return r[0] && r[0].status !== "pending" && r[0].status !== "sending" ? r : undefined;
    }, 60_000, "the held summary");
    expect(held).toMatchObject({ proactive: true });
    expect(held!.last_error).toMatch(/24-hour window/);
    expect(fake.sentMessages()).toHaveLength(sent);
  }, 240_000);

  it("answers a WhatsApp user's call with their own agent and sends one summary on WhatsApp", async () => {
    const first = sample("text");
    const res = await fetch(`${url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(first, APP_SECRET) }, body: first });
    expect(res.status).toBe(200);
    await waitFor(async () => fake.sentMessages().length > 0, 90_000, "the agent's WhatsApp reply");
    // Meta's sample carries a 2025 timestamp; the user wrote "just now", so the 24-hour window is open.
    await t.database.db.execute(sql`UPDATE users SET last_inbound_at = now()`);

    const greet = parseTwiml((await postTwilio(twilio, "/voice/webhook/voice", params({ CallStatus: "ringing" }))).body);
    expect(greet.children[0]!.name).toBe("Gather");
    // The caller is the WhatsApp user, not a second user with the same number.
    const users = await rows<{ id: string }>(t.database.db, sql`SELECT id FROM users WHERE wa_id = '16505551234' OR phone = '16505551234'`);
    expect(users).toHaveLength(1);
    const [callRow] = await rows<{ user_id: string }>(t.database.db, sql`SELECT user_id FROM calls WHERE sid = 'CAe2e000000000000000000000000001'`);
    expect(callRow!.user_id).toBe(users[0]!.id);

    const turn = await say("what can you do");
    expect(turn.children.map((c) => c.name)).toEqual(["Gather"]);
    const reply = turn.children[0]!.children[0]!.text;
    expect(reply.length).toBeGreaterThan(0);

    const bye = await say("goodbye");
    expect(bye.children.map((c) => c.name)).toEqual(["Say", "Hangup"]);

    const before = fake.sentMessages().length;
    const done = params({ CallStatus: "completed", CallDuration: "35" });
    expect((await postTwilio(twilio, "/voice/webhook/call-status", done)).status).toBe(204);
    expect((await postTwilio(twilio, "/voice/webhook/call-status", done)).status).toBe(204);
    await waitFor(async () => fake.sentMessages().length > before, 60_000, "the call summary on WhatsApp");
    await new Promise((r) => setTimeout(r, 500));
    const summaries = fake.sentMessages().slice(before);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ to: "16505551234", type: "text" });
    expect(summaries[0].text.body).toMatch(/^Call summary: .*what can you do/);
    const [call] = await rows<{ transcript: unknown[]; status: string; duration_seconds: number }>(t.database.db, sql`SELECT transcript, status, duration_seconds FROM calls WHERE sid = 'CAe2e000000000000000000000000001'`);
    expect(call).toMatchObject({ status: "completed", duration_seconds: 35 });
    expect(call!.transcript).toEqual([
      { role: "caller", text: "what can you do" },
      { role: "assistant", text: reply },
      { role: "caller", text: "goodbye" },
      { role: "assistant", text: bye.children[0]!.text },
    ]);
  }, 240_000);
});
