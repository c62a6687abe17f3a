import { eq, sql } from "drizzle-orm";
import { ConfirmPhrases } from "../src/channels/voice/voice-trust-commands";
import { CallTrustStore } from "../src/channels/voice/call-trust-store";
import { systemClock } from "../src/clock";
import { FakeRealtime } from "../../test-support/fake-realtime";
import { recordedCall, TwilioMediaPlayer } from "../../test-support/twilio-media-player";
import { calls, callTurns, users } from "../src/db/schema";
import { rows } from "../src/db/database";
import { Inbox } from "../src/inbox/inbox";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";
import { parseTwiml } from "../../test-support/twilio-webhook";
import { VoiceHarness, twilioCallParams } from "../../test-support/twilio-voice-harness";

const PHONE = "14155550142";
const call = (sid: string, extra: Record<string, string> = {}) => twilioCallParams(sid, `+${PHONE}`, extra);
const said = (body: string) => {
  const doc = parseTwiml(body);
  const first = doc.children[0]!;
  return first.name === "Gather" ? first.children[0]!.text : first.text;
};

describeEachDriver("audit 15.3: callers are identified by caller ID alone", (driver) => {
  let h: VoiceHarness;
  const shared = useTestDatabase(driver);
  let userId: string;
  beforeEach(async () => {
    h = await new VoiceHarness({
      driver,
      shared,
      agentHandlers: { "call.turn": async (r) => ({ reply: `(${r.params.trust}) You said ${r.params.text}`, hangUp: false }) },
    }).start();
    // The user, known on WhatsApp with an open window, calling from the same number.
    const [u] = await h.tdb.database.db.insert(users).values({ phone: PHONE, waId: PHONE, lastInboundAt: new Date() }).returning({ id: users.id });
    userId = u!.id;
  });
  afterEach(() => h.stop());
  const db = () => h.tdb.database.db;
  const turns = () => h.agent.received.filter((r) => r.method === "call.turn" && r.params.phase === "turn");
  let wamid = 0;
  /** A WhatsApp message from the user, as the webhook queues it; returns what the control plane answered. */
  async function whatsapp(text: string): Promise<string[]> {
    const providerId = `wamid.trust${++wamid}`;
    await db().transaction((tx) => new Inbox().enqueue(tx, { userId, channel: "whatsapp", kind: "message", providerId, payload: { text } }));
    await h.settle();
    const [ev] = await rows<{ id: string }>(db(), sql`SELECT id FROM inbox_events WHERE provider_id = ${providerId}`);
    return (await h.outbox()).filter((o) => o.inboxId === ev!.id).map((o) => o.body);
  }
  const trustOf = async (sid: string) => (await db().select({ t: calls.trust }).from(calls).where(eq(calls.sid, sid)))[0]!.t;

  it("gives full access only to an A-attested number; B, C, failed, unvalidated and absent attestations are limited", async () => {
    const cases: [string, string | undefined, "full" | "limited"][] = [
      ["CA-a", "TN-Validation-Passed-A", "full"],
      ["CA-b", "TN-Validation-Passed-B", "limited"],
      ["CA-c", "TN-Validation-Passed-C", "limited"],
      ["CA-fa", "TN-Validation-Failed-A", "limited"],
      ["CA-none", "No-TN-Validation", "limited"],
      ["CA-div", "TN-Validation-Passed-A-Diverted", "limited"],
      ["CA-absent", undefined, "limited"],
    ];
    for (const [sid, verstat, expected] of cases) {
      const greeting = said((await h.post("/voice/webhook/voice", call(sid, { CallStatus: "ringing", ...(verstat ? { StirVerstat: verstat } : {}) }))).body);
      if (expected === "limited") expect(greeting).toMatch(/can't verify the number/);
      else expect(greeting).not.toMatch(/verify/);
      const reply = said((await h.post("/voice/webhook/gather", call(sid, { SpeechResult: `how much did I spend ${sid}` }))).body);
      expect(reply).toBe(`(${expected}) You said how much did I spend ${sid}`);
    }
  });

  it("upgrades a limited call when the caller says the PIN the user set on WhatsApp; the PIN reaches neither agent nor transcript", async () => {
    const inner = h.agent.received.length;
    expect(await whatsapp("Phone PIN 4711")).toEqual([ConfirmPhrases.pinSet]);
    const [u] = await db().select({ hash: users.voicePinHash }).from(users).where(eq(users.id, userId));
    expect(u!.hash).toMatch(/^scrypt\$/);
    expect(u!.hash).not.toContain("4711");
    // The command was answered by the control plane: no chat.send, no "agent:" reply.
    expect(h.agent.received.length).toBe(inner);

    await h.post("/voice/webhook/voice", call("CA-pin", { CallStatus: "ringing", StirVerstat: "TN-Validation-Passed-B" }));
    expect(said((await h.post("/voice/webhook/gather", call("CA-pin", { SpeechResult: "1 2 3 4" }))).body)).toMatch(/didn't match/);
    expect(await trustOf("CA-pin")).toBe("limited");
    expect(said((await h.post("/voice/webhook/gather", call("CA-pin", { SpeechResult: "four seven one one." }))).body)).toMatch(/you're verified/);
    expect(await trustOf("CA-pin")).toBe("verified");
    expect(said((await h.post("/voice/webhook/gather", call("CA-pin", { SpeechResult: "what did I spend this week" }))).body)).toBe("(full) You said what did I spend this week");
    expect(turns().map((r) => r.params.text)).toEqual(["what did I spend this week"]);
    const [row] = await db().select().from(calls).where(eq(calls.sid, "CA-pin"));
    expect(JSON.stringify(row!.transcript)).not.toMatch(/4711|four seven|1 2 3 4/);
    expect((await db().select().from(callTurns).where(eq(callTurns.callSid, "CA-pin"))).map((t) => t.speech)).toEqual(["what did I spend this week"]);
  });

  it("stops taking PINs after three wrong ones in a call", async () => {
    await whatsapp("phone pin 2580");
    await h.post("/voice/webhook/voice", call("CA-guess", { CallStatus: "ringing" }));
    for (const guess of ["1111", "2222", "3333"]) await h.post("/voice/webhook/gather", call("CA-guess", { SpeechResult: guess }));
    expect(said((await h.post("/voice/webhook/gather", call("CA-guess", { SpeechResult: "2580" }))).body)).toMatch(/can't take more PIN attempts/);
    expect(await trustOf("CA-guess")).toBe("limited");
  });

  it("asks the user on WhatsApp, and a yes within the window upgrades the live call", async () => {
    await h.post("/voice/webhook/voice", call("CA-ask", { CallStatus: "ringing", StirVerstat: "No-TN-Validation" }));
    await h.post("/voice/webhook/voice", call("CA-ask", { CallStatus: "ringing", StirVerstat: "No-TN-Validation" })); // Twilio's retry asks once
    const question = (await h.outbox()).filter((o) => o.meta?.reason === "call_confirm");
    expect(question).toEqual([expect.objectContaining({ userId, channel: "whatsapp", proactive: true, meta: { callSid: "CA-ask", reason: "call_confirm" } })]);
    expect(question[0]!.body).toMatch(/Reply YES within 5 minutes/);
    expect(said((await h.post("/voice/webhook/gather", call("CA-ask", { SpeechResult: "read me my contacts" }))).body)).toBe("(limited) You said read me my contacts");
    expect(await whatsapp("Yes!")).toEqual([ConfirmPhrases.confirmed]);
    expect(await trustOf("CA-ask")).toBe("verified");
    expect(said((await h.post("/voice/webhook/gather", call("CA-ask", { SpeechResult: "read me my contacts now" }))).body)).toBe("(full) You said read me my contacts now");
  });

  it("ignores a yes that comes too late, or after a no, or for a call that ended: it is an ordinary message then", async () => {
    await h.post("/voice/webhook/voice", call("CA-late", { CallStatus: "ringing" }));
    await db().update(calls).set({ confirmAskedAt: new Date(Date.now() - 6 * 60_000) }).where(eq(calls.sid, "CA-late"));
    expect(await whatsapp("yes")).toEqual(["agent: yes"]);
    expect(await trustOf("CA-late")).toBe("limited");

    await h.post("/voice/webhook/voice", call("CA-no", { CallStatus: "ringing" }));
    expect(await whatsapp("no")).toEqual([ConfirmPhrases.declined]);
    expect(await whatsapp("yes")).toEqual(["agent: yes"]);
    expect(await trustOf("CA-no")).toBe("limited");

    await h.post("/voice/webhook/voice", call("CA-gone", { CallStatus: "ringing" }));
    await h.post("/voice/webhook/call-status", call("CA-gone", { CallStatus: "completed", CallDuration: "4" }));
    expect(await whatsapp("yes")).toEqual(["agent: yes"]);
    expect(await trustOf("CA-gone")).toBe("limited");
  });
});

describeEachDriver("audit 15.3: callers are identified by caller ID alone (real-time calls)", (driver) => {
  let h: VoiceHarness;
  let realtime: FakeRealtime;
  const tool = (name: string) => ({ name, description: name, parameters: { type: "object", properties: {} } });
  beforeEach(async () => {
    realtime = await new FakeRealtime("sk-rt-trust").start();
    h = await new VoiceHarness({
      driver,
      realtime: { url: realtime.url, apiKey: "sk-rt-trust", model: "gpt-realtime" },
      realtimeSetupTimeoutMs: 3000,
      agentHandlers: {
        "tools.list": (r) =>
          r.params.trust === "full" ? { tools: [tool("add_task"), tool("spending_summary")], instructions: "full: Ada's assistant" } : { tools: [tool("add_task")], instructions: "limited" },
      },
    }).start();
  });
  afterEach(async () => {
    await h.stop();
    await realtime.stop();
  });
  const toolNames = (e: Record<string, any>) => (e.session.tools as { name: string }[]).map((t) => t.name);

  async function startLimitedStream(sid: string): Promise<{ userId: string; player: TwilioMediaPlayer }> {
    const res = await h.post("/voice/webhook/voice", twilioCallParams(sid, `+${PHONE}`, { CallStatus: "ringing", StirVerstat: "TN-Validation-Passed-B" }));
    const stream = parseTwiml(res.body).children[0]!.children[0]!;
    const params = Object.fromEntries(stream.children.map((p) => [p.attrs.name!, p.attrs.value!]));
    const player = await new TwilioMediaPlayer(`${h.localBase.replace("http", "ws")}/voice/stream`, h.streamHeaders()).connect();
    for (const m of recordedCall({ streamSid: `MZ-${sid}`, callSid: sid, customParameters: params, audioMs: 20 }).opening) player.send(m);
    const first = await realtime.waitFor((e) => e.type === "session.update");
    expect(toolNames(first)).toEqual(["add_task"]);
    expect(first.session.instructions).toBe("limited");
    return { userId: params.userId!, player };
  }

  it("starts a limited session, and the PIN said on the call upgrades it to the full tools; the PIN is not stored", async () => {
    const { userId, player } = await startLimitedStream("CA-rt-pin");
    await new CallTrustStore(systemClock).setPin(h.tdb.database.db, userId, "4711");
    realtime.callerSaid("4 7 1 1");
    const upgraded = await realtime.waitFor((e) => e.type === "session.update" && toolNames(e).includes("spending_summary"));
    expect(upgraded.session.instructions).toBe("full: Ada's assistant");
    expect((await h.tdb.database.db.select({ t: calls.trust }).from(calls).where(eq(calls.sid, "CA-rt-pin")))[0]!.t).toBe("verified");
    realtime.callerSaid("what did I spend");
    player.close();
    await player.closed;
    await h.stream!.idle();
    const [row] = await h.tdb.database.db.select().from(calls).where(eq(calls.sid, "CA-rt-pin"));
    expect(JSON.stringify(row!.transcript)).not.toMatch(/4 7 1 1|4711/);
  });

  it("upgrades a limited session once the user said yes on WhatsApp", async () => {
    await startLimitedStream("CA-rt-yes");
    await h.tdb.database.db.update(calls).set({ trust: "verified" }).where(eq(calls.sid, "CA-rt-yes")); // what a WhatsApp "yes" does (tested above)
    realtime.callerSaid("so can you help me now?");
    await realtime.waitFor((e) => e.type === "session.update" && toolNames(e).includes("spending_summary"));
  });
});
