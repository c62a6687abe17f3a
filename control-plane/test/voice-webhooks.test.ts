import twilio from "twilio";
import { eq } from "drizzle-orm";
import { calls, callTurns, users } from "../src/db/schema";
import { createTestDatabase, describeEachDriver, type TestDatabase } from "../../test-support/db";
import { sleep } from "../../test-support/fake-agent";
import { parseTwiml, type XmlElement } from "../../test-support/twilio-webhook";
import { AUTH_TOKEN, PUBLIC_BASE, VoiceHarness } from "../../test-support/twilio-voice-harness";

const CALLER = "+14155550123";
const call = (sid: string, extra: Record<string, string> = {}) => ({
  AccountSid: "AC0123456789abcdef0123456789abcdef",
  CallSid: sid,
  From: CALLER,
  To: "+18005550100",
  CallStatus: "ringing",
  Direction: "inbound",
  ApiVersion: "2010-04-01",
  // The carrier attested the number: the caller is the user (unattested calls: voice-trust.test.ts).
  StirVerstat: "TN-Validation-Passed-A",
  ...extra,
});

function expectGather(el: XmlElement, saying: string | RegExp) {
  expect(el.name).toBe("Gather");
  expect(el.attrs).toMatchObject({ input: "speech", action: "/voice/webhook/gather", speechTimeout: "auto", method: "POST" });
  expect(el.children).toHaveLength(1);
  expect(el.children[0]!.name).toBe("Say");
  if (typeof saying === "string") expect(el.children[0]!.text).toBe(saying);
  else expect(el.children[0]!.text).toMatch(saying);
}

describe("Twilio signatures (the library's own published vector)", () => {
  // From Twilio's signature-validation documentation and twilio-node's tests.
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const params = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };

  it("computes the documented signature and validates it", () => {
    expect(twilio.getExpectedTwilioSignature("12345", url, params)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(twilio.validateRequest("12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, params)).toBe(true);
    expect(twilio.validateRequest("12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, { ...params, Digits: "1235" })).toBe(false);
  });
});

describeEachDriver("Voice webhooks", (driver) => {
  let h: VoiceHarness;
  let agentDelayMs = 0;
  let shared: TestDatabase;
  beforeAll(async () => {
    shared = await createTestDatabase(driver);
  });
  afterAll(() => shared.cleanup());

  beforeEach(async () => {
    agentDelayMs = 0;
    h = await new VoiceHarness({
      driver,
      shared,
      // Far below production's 12 s, far above an instant turn even on a loaded machine.
      answerLimitMs: 1500,
      maxWaits: 3,
      agentHandlers: {
        "call.turn": async (r) => {
          await sleep(agentDelayMs);
          if (r.params.phase === "end") return { reply: `Summary: ${r.params.transcript.length} lines`, hangUp: false };
          return { reply: `You said ${r.params.text}`, hangUp: /bye/i.test(r.params.text) };
        },
      },
    }).start();
  });
  afterEach(() => h.stop());

  const db = () => h.tdb.database.db;

  it("rejects a call whose signature was made with another token: 403, no user, no call", async () => {
    const params = call("CA-forged");
    const forged = twilio.getExpectedTwilioSignature("not-the-token", `${PUBLIC_BASE}/voice/webhook/voice`, params);
    const res = await h.post("/voice/webhook/voice", params, { signature: forged });
    expect(res.status).toBe(403);
    expect(await db().select().from(users)).toHaveLength(0);
    expect(await db().select().from(calls)).toHaveLength(0);
    expect(h.ensured).toHaveLength(0);
  });

  it("rejects a signature computed over the forwarded URL instead of PUBLIC_BASE_URL", async () => {
    const params = call("CA-local");
    const overLocal = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${h.localBase}/voice/webhook/voice`, params);
    expect((await h.post("/voice/webhook/voice", params, { signature: overLocal })).status).toBe(403);
    expect((await h.post("/voice/webhook/voice", params, { signature: "" })).status).toBe(403);
    expect(await db().select().from(calls)).toHaveLength(0);
  });

  it("rejects a gather whose body was changed after signing, and queues nothing", async () => {
    await h.post("/voice/webhook/voice", call("CA-tamper"));
    const signedFor = call("CA-tamper", { SpeechResult: "what is on today" });
    const sig = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE}/voice/webhook/gather`, signedFor);
    const res = await h.post("/voice/webhook/gather", { ...signedFor, SpeechResult: "delete everything" }, { signature: sig });
    expect(res.status).toBe(403);
    expect(await h.events()).toHaveLength(0);
    expect(await db().select().from(callTurns)).toHaveLength(0);
  });

  it("answers an incoming call with a greeting inside a speech Gather, creates the user and warms the sandbox", async () => {
    const res = await h.post("/voice/webhook/voice", call("CA100"));
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/text\/xml/);
    const doc = parseTwiml(res.body);
    expect(doc.name).toBe("Response");
    expect(doc.children).toHaveLength(1);
    expectGather(doc.children[0]!, /How can I help/);
    const [user] = await db().select().from(users).where(eq(users.phone, "14155550123"));
    expect(user).toBeDefined();
    expect(user!.timezone).toBe("Europe/Berlin");
    expect(h.ensured).toEqual([user!.id]);
    const [row] = await db().select().from(calls).where(eq(calls.sid, "CA100"));
    expect(row).toMatchObject({ userId: user!.id, direction: "inbound", mode: "turns", status: "ringing" });
    // A second call from the same number is the same user.
    await h.post("/voice/webhook/voice", call("CA101"));
    expect(await db().select().from(users)).toHaveLength(1);
  });

  it("turns speech into a voice_turn that jumps the queue, and says the agent's reply before the next Gather", async () => {
    await h.post("/voice/webhook/voice", call("CA200"));
    const res = await h.post("/voice/webhook/gather", call("CA200", { CallStatus: "in-progress", SpeechResult: "what is on my calendar", Confidence: "0.92" }));
    expect(res.status).toBe(200);
    const doc = parseTwiml(res.body);
    expect(doc.children.map((c) => c.name)).toEqual(["Gather"]);
    expectGather(doc.children[0]!, "You said what is on my calendar");
    expect(await h.events()).toEqual([
      expect.objectContaining({ kind: "voice_turn", channel: "voice", providerId: "CA200:1", priority: 0, payload: { callSid: "CA200", turn: 1, text: "what is on my calendar" } }),
    ]);
    const turnReq = h.agent.received.find((r) => r.method === "call.turn")!;
    expect(turnReq.params).toMatchObject({ callSid: "CA200", phase: "turn", text: "what is on my calendar", idempotencyKey: "CA200:1" });
    const [row] = await db().select().from(calls).where(eq(calls.sid, "CA200"));
    expect(row!.transcript).toEqual([
      { role: "caller", text: "what is on my calendar" },
      { role: "assistant", text: "You said what is on my calendar" },
    ]);
  });

  it("ends the call when the agent hangs up: Say then Hangup", async () => {
    await h.post("/voice/webhook/voice", call("CA250"));
    const doc = parseTwiml((await h.post("/voice/webhook/gather", call("CA250", { SpeechResult: "thanks, bye" }))).body);
    expect(doc.children.map((c) => c.name)).toEqual(["Say", "Hangup"]);
    expect(doc.children[0]!.text).toBe("You said thanks, bye");
  });

  it("reuses the turn when Twilio retries the same gather (same idempotency token)", async () => {
    await h.post("/voice/webhook/voice", call("CA260"));
    const params = call("CA260", { SpeechResult: "remind me to call mum" });
    const headers = { "i-twilio-idempotency-token": "idem-1" };
    await h.post("/voice/webhook/gather", params, { headers });
    const again = parseTwiml((await h.post("/voice/webhook/gather", params, { headers })).body);
    expectGather(again.children[0]!, "You said remind me to call mum");
    expect(await h.events()).toHaveLength(1);
    expect(h.agent.received.filter((r) => r.method === "call.turn")).toHaveLength(1);
  });

  it("fills a slow turn with a short phrase and a Redirect, and the redirect picks the answer up", async () => {
    await h.post("/voice/webhook/voice", call("CA300"));
    agentDelayMs = 4000; // longer than one webhook's wait (1.5 s here; 12 s in production)
    const started = Date.now();
    const first = await h.post("/voice/webhook/gather", call("CA300", { SpeechResult: "plan my week" }));
    expect(Date.now() - started).toBeLessThan(3500); // the wait, not the turn
    const filler = parseTwiml(first.body);
    expect(filler.children.map((c) => c.name)).toEqual(["Say", "Redirect"]);
    expect(filler.children[0]!.text).toMatch(/moment/i);
    expect(filler.children[1]!.attrs).toEqual({ method: "POST" });
    const redirect = filler.children[1]!.text;
    expect(redirect).toBe("/voice/webhook/answer?turn=1&wait=1");
    // Twilio follows the redirect (relative to the public URL) and signs it like any webhook; by
    // then the turn has finished (waited for, so a loaded machine cannot make it a second filler).
    await h.settle(15_000);
    const second = parseTwiml((await h.post(redirect, call("CA300", { CallStatus: "in-progress" }))).body);
    expect(second.children.map((c) => c.name)).toEqual(["Gather"]);
    expectGather(second.children[0]!, "You said plan my week");
    expect(h.agent.received.filter((r) => r.method === "call.turn")).toHaveLength(1);
  });

  it("never leaves a dead line: after too many fillers it asks the caller to repeat", async () => {
    await h.post("/voice/webhook/voice", call("CA350"));
    agentDelayMs = 8000; // longer than all three waits
    let doc = parseTwiml((await h.post("/voice/webhook/gather", call("CA350", { SpeechResult: "something hard" }))).body);
    for (let i = 0; i < 5 && doc.children[1]?.name === "Redirect"; i++) doc = parseTwiml((await h.post(doc.children[1]!.text, call("CA350"))).body);
    expect(doc.children.map((c) => c.name)).toEqual(["Gather"]);
    expectGather(doc.children[0]!, /say it again/);
  });

  it("reprompts once when it hears nothing, then says goodbye and hangs up", async () => {
    await h.post("/voice/webhook/voice", call("CA400"));
    const first = parseTwiml((await h.post("/voice/webhook/gather", call("CA400", { SpeechResult: "" }))).body);
    expect(first.children.map((c) => c.name)).toEqual(["Gather"]);
    expectGather(first.children[0]!, /didn't catch that/);
    const second = parseTwiml((await h.post("/voice/webhook/gather", call("CA400"))).body);
    expect(second.children.map((c) => c.name)).toEqual(["Say", "Hangup"]);
    expect(second.children[0]!.text).toMatch(/goodbye/i);
    expect(await h.events()).toHaveLength(0);
  });

  it("hangs up politely on a withheld number", async () => {
    const doc = parseTwiml((await h.post("/voice/webhook/voice", call("CA450", { From: "anonymous" }))).body);
    expect(doc.children.map((c) => c.name)).toEqual(["Say", "Hangup"]);
    expect(await db().select().from(users)).toHaveLength(0);
  });

  it("records status and duration, and queues one summary when a conversation completes", async () => {
    await h.post("/voice/webhook/voice", call("CA500"));
    await h.post("/voice/webhook/gather", call("CA500", { SpeechResult: "add milk to my list" }));
    expect((await h.post("/voice/webhook/call-status", call("CA500", { CallStatus: "in-progress" }))).status).toBe(204);
    const done = call("CA500", { CallStatus: "completed", CallDuration: "42" });
    expect((await h.post("/voice/webhook/call-status", done)).status).toBe(204);
    expect((await h.post("/voice/webhook/call-status", done)).status).toBe(204); // Twilio may repeat it
    const [row] = await db().select().from(calls).where(eq(calls.sid, "CA500"));
    expect(row).toMatchObject({ status: "completed", durationSeconds: 42, summaryQueued: true });
    expect(row!.endedAt).toBeInstanceOf(Date);
    expect((await h.events()).filter((e) => e.kind === "call_ended")).toEqual([expect.objectContaining({ providerId: "CA500:ended", payload: { callSid: "CA500" } })]);
    await h.settle();
    const ended = (await h.events()).find((e) => e.kind === "call_ended")!;
    expect(ended.status).toBe("done");
    expect(await h.outbox()).toEqual([
      { channel: "whatsapp", kind: "text", proactive: true, body: "Summary: 2 lines", userId: row!.userId, inboxId: ended.id, meta: { callSid: "CA500", reason: "call_summary" } },
    ]);
    expect(h.agent.received.filter((r) => r.method === "call.turn" && r.params.phase === "end")).toHaveLength(1);
    const end = h.agent.received.find((r) => r.method === "call.turn" && r.params.phase === "end")!;
    expect(end.params.transcript).toEqual(row!.transcript);
  });

  it("does not summarise a call in which nothing was said, nor undo completed with a late ringing", async () => {
    await h.post("/voice/webhook/voice", call("CA600"));
    await h.post("/voice/webhook/call-status", call("CA600", { CallStatus: "completed", CallDuration: "3" }));
    await h.post("/voice/webhook/call-status", call("CA600", { CallStatus: "ringing" }));
    const [row] = await db().select().from(calls).where(eq(calls.sid, "CA600"));
    expect(row).toMatchObject({ status: "completed", durationSeconds: 3, summaryQueued: false });
    expect(await h.events()).toHaveLength(0);
  });
});

describeEachDriver("Voice webhooks in real-time mode", (driver) => {
  let h: VoiceHarness;
  beforeEach(async () => {
    h = await new VoiceHarness({ driver, realtime: { url: "ws://127.0.0.1:9/v1/realtime", apiKey: "sk-test", model: "gpt-realtime" } }).start();
  });
  afterEach(() => h.stop());

  it("connects the call to a Media Stream at wss://<public host>/voice/stream with signed parameters", async () => {
    const doc = parseTwiml((await h.post("/voice/webhook/voice", call("CA700"))).body);
    expect(doc.children.map((c) => c.name)).toEqual(["Connect", "Say"]);
    const [stream] = doc.children[0]!.children;
    expect(stream!.name).toBe("Stream");
    expect(stream!.attrs).toEqual({ url: "wss://concierge.example.test/voice/stream" });
    const params = Object.fromEntries(stream!.children.map((p) => [p.attrs.name, p.attrs.value]));
    const [user] = await h.tdb.database.db.select().from(users);
    expect(params.userId).toBe(user!.id);
    // "<issued at ms>.<HMAC>": the token expires (audit 15.6, voice-stream-auth.test.ts).
    expect(params.token).toMatch(/^\d{13}\.[\w-]{43}$/);
    const [row] = await h.tdb.database.db.select().from(calls);
    expect(row!.mode).toBe("realtime");
  });
});
