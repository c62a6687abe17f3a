import { eq, sql } from "drizzle-orm";
import { calls, users } from "../src/db/schema";
import { CallCapReachedError, OutboundCallError } from "../src/channels/voice";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";
import { FakeTwilioRest } from "../../test-support/twilio-rest-fake";
import { parseTwiml } from "../../test-support/twilio-webhook";
import { ACCOUNT_SID, AUTH_TOKEN, VoiceHarness } from "../../test-support/twilio-voice-harness";

describeEachDriver("Outbound reminder calls", (driver) => {
  const shared = useTestDatabase(driver);
  let rest: FakeTwilioRest;
  let h: VoiceHarness;

  beforeEach(async () => {
    rest = await new FakeTwilioRest(ACCOUNT_SID, AUTH_TOKEN).start();
    h = await new VoiceHarness({ driver, shared, twilioApiBaseUrl: rest.url, phoneNumber: "+18005550100" }).start();
  });
  afterEach(async () => {
    await h.stop();
    await rest.stop();
  });

  async function user(phone: string | null): Promise<string> {
    const [u] = await h.tdb.database.db.insert(users).values({ phone }).returning({ id: users.id });
    return u!.id;
  }

  it("places a call through the Twilio REST API that reads the reminder, from the assistant's number", async () => {
    const userId = await user("4915112345678");
    const { callSid } = await h.channel.placeCall!(userId, "Take the 5 pm train to Hamburg");
    expect(rest.calls).toHaveLength(1);
    const [created] = rest.calls;
    expect(created!.sid).toBe(callSid);
    expect(created!.params).toMatchObject({
      To: "+4915112345678",
      From: "+18005550100",
      StatusCallback: "https://concierge.example.test/voice/webhook/call-status",
      StatusCallbackEvent: "completed",
      StatusCallbackMethod: "POST",
    });
    const doc = parseTwiml(String(created!.params.Twiml));
    expect(doc.children.map((c) => c.name)).toEqual(["Say", "Pause", "Say", "Hangup"]);
    expect(doc.children[0]!.text).toMatch(/urgent reminder\. Take the 5 pm train to Hamburg$/);
    const [row] = await h.tdb.database.db.select().from(calls).where(eq(calls.sid, callSid));
    expect(row).toMatchObject({ userId, direction: "outbound", mode: "announce", status: "queued" });

    // Its completed status is recorded, and no summary is asked for: the reminder was the message.
    await h.post("/voice/webhook/call-status", { CallSid: callSid, CallStatus: "completed", CallDuration: "18", From: "+18005550100", To: "+4915112345678", Direction: "outbound-api" });
    const [after] = await h.tdb.database.db.select().from(calls).where(eq(calls.sid, callSid));
    expect(after).toMatchObject({ status: "completed", durationSeconds: 18, summaryQueued: false });
    expect(await h.events()).toHaveLength(0);
  });

  it("maps Twilio's refusals to typed errors: 429 retryable, 400 not, and records no call", async () => {
    const userId = await user("4915112345679");
    rest.failNext = { status: 429, code: 20429, message: "Too Many Requests" };
    await expect(h.channel.placeCall!(userId, "x")).rejects.toMatchObject({ name: "OutboundCallError", retryable: true, status: 429 });
    rest.failNext = { status: 400, code: 21211, message: "Invalid 'To' Phone Number" };
    const err = await h.channel.placeCall!(userId, "x").catch((e) => e);
    expect(err).toBeInstanceOf(OutboundCallError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(await h.tdb.database.db.select().from(calls)).toHaveLength(0);
  });

  it("refuses to call a user without a phone number", async () => {
    const userId = await user(null);
    await expect(h.channel.placeCall!(userId, "x")).rejects.toMatchObject({ name: "OutboundCallError", retryable: false });
    expect(rest.calls).toHaveLength(0);
  });
});

describeEachDriver("audit 15.17: urgent reminders can trigger unlimited outbound calls", (driver) => {
  let rest: FakeTwilioRest;
  let h: VoiceHarness;
  beforeAll(async () => {
    rest = await new FakeTwilioRest(ACCOUNT_SID, AUTH_TOKEN).start();
    h = await new VoiceHarness({ driver, twilioApiBaseUrl: rest.url, phoneNumber: "+18005550100", urgentCallsPerDay: 2 }).start();
  });
  afterAll(async () => {
    await h?.stop();
    await rest?.stop();
  });

  it("places at most URGENT_CALLS_PER_DAY reminder calls per user in 24 hours, then refuses without dialing", async () => {
    const [u] = await h.tdb.database.db.insert(users).values({ phone: "4915112340017" }).returning({ id: users.id });
    const [other] = await h.tdb.database.db.insert(users).values({ phone: "4915112340018" }).returning({ id: users.id });
    await h.channel.placeCall!(u!.id, "one");
    await h.channel.placeCall!(u!.id, "two");
    const err = await h.channel.placeCall!(u!.id, "three").catch((e) => e);
    expect(err).toBeInstanceOf(CallCapReachedError);
    expect(err).toMatchObject({ retryable: false });
    expect(rest.calls.map((c) => String(c.params.Twiml).includes("three"))).toEqual([false, false]);
    // Another user has their own allowance.
    await h.channel.placeCall!(other!.id, "theirs");
    expect(rest.calls).toHaveLength(3);
    // A day later the allowance is back.
    await h.tdb.database.db.execute(sql`UPDATE calls SET created_at = created_at - interval '25 hours' WHERE user_id = ${u!.id}`);
    await h.channel.placeCall!(u!.id, "four");
    expect(rest.calls).toHaveLength(4);
  });
});
