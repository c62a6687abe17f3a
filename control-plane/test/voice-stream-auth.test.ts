import { eq } from "drizzle-orm";
import { streamToken } from "../src/channels/voice/stream-token";
import { calls } from "../src/db/schema";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";
import { FakeRealtime } from "../../test-support/fake-realtime";
import { recordedCall, TwilioMediaPlayer } from "../../test-support/twilio-media-player";
import { parseTwiml } from "../../test-support/twilio-webhook";
import { AUTH_TOKEN, VoiceHarness } from "../../test-support/twilio-voice-harness";

/** Resolves with the close code, or "open" if the server kept the socket past `ms`. */
const closedWithin = (p: TwilioMediaPlayer, ms: number) =>
  Promise.race([p.closed.then((c) => c.code), new Promise<"open">((r) => setTimeout(() => r("open"), ms).unref())]);

describeEachDriver("audit 15.6: /voice/stream accepts unauthenticated sockets", (driver) => {
  let h: VoiceHarness;
  let realtime: FakeRealtime;
  const shared = useTestDatabase(driver);
  const players: TwilioMediaPlayer[] = [];
  beforeEach(async () => {
    realtime = await new FakeRealtime("sk-rt-auth").start();
    h = await new VoiceHarness({
      driver,
      shared,
      realtime: { url: realtime.url, apiKey: "sk-rt-auth", model: "gpt-realtime" },
      realtimeSetupTimeoutMs: 2000,
      maxStreams: 2,
      streamStartTimeoutMs: 1500,
      agentHandlers: { "tools.list": () => ({ tools: [], instructions: "x" }) },
    }).start();
  });
  afterEach(async () => {
    for (const p of players.splice(0)) p.close();
    await h.stop();
    await realtime.stop();
  });
  const url = () => `${h.localBase.replace("http", "ws")}/voice/stream`;
  const player = async () => {
    const p = await new TwilioMediaPlayer(url(), h.streamHeaders()).connect();
    players.push(p);
    return p;
  };
  async function answerCall(callSid: string): Promise<Record<string, string>> {
    const res = await h.post("/voice/webhook/voice", { CallSid: callSid, From: "+4915112340006", To: "+18005550100", CallStatus: "ringing", StirVerstat: "TN-Validation-Passed-A" });
    const stream = parseTwiml(res.body).children[0]!.children[0]!;
    return Object.fromEntries(stream.children.map((p) => [p.attrs.name, p.attrs.value]));
  }

  it("refuses an upgrade without a valid Twilio signature before it becomes a socket", async () => {
    await expect(new TwilioMediaPlayer(url()).connect()).rejects.toThrow(/403/);
    await expect(new TwilioMediaPlayer(url(), { "x-twilio-signature": "bm90IGEgc2lnbmF0dXJl" }).connect()).rejects.toThrow(/403/);
    expect(h.stream!.active.size).toBe(0);
  });

  it("closes a signed socket that sends no start frame in time", async () => {
    const p = await player();
    expect(await closedWithin(p, 5000)).toBe(1008);
  });

  it("closes a socket whose frame is far larger than any Twilio frame", async () => {
    const p = await player();
    p.send({ event: "media", media: { payload: "A".repeat(200 * 1024) } });
    expect(await closedWithin(p, 5000)).toBe(1009);
  });

  it("caps the sockets open at once", async () => {
    await player();
    await player();
    await expect(new TwilioMediaPlayer(url(), h.streamHeaders()).connect()).rejects.toThrow(/503/);
  });

  it("refuses an expired stream token", async () => {
    const params = await answerCall("CA-exp");
    const stale = streamToken(AUTH_TOKEN, "CA-exp", params.userId!, new Date(Date.now() - 10 * 60_000));
    const p = await player();
    for (const m of recordedCall({ streamSid: "MZ-exp", callSid: "CA-exp", customParameters: { userId: params.userId!, token: stale }, audioMs: 20 }).opening) p.send(m);
    expect(await closedWithin(p, 5000)).toBe(1008);
    expect(realtime.connections).toBe(0);
  });

  it("lets a stream token open one stream only, and only for a live call", async () => {
    const params = await answerCall("CA-once");
    const first = await player();
    for (const m of recordedCall({ streamSid: "MZ-once-1", callSid: "CA-once", customParameters: params, audioMs: 20 }).opening) first.send(m);
    for (let i = 0; i < 250 && realtime.connections < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const second = await player();
    for (const m of recordedCall({ streamSid: "MZ-once-2", callSid: "CA-once", customParameters: params, audioMs: 20 }).opening) second.send(m);
    expect(await closedWithin(second, 5000)).toBe(1008);
    expect(realtime.connections).toBe(1);
    expect((await h.tdb.database.db.select({ s: calls.streamSid }).from(calls).where(eq(calls.sid, "CA-once")))[0]!.s).toBe("MZ-once-1");
    first.close();
    await first.closed;

    const ended = await answerCall("CA-ended");
    await h.post("/voice/webhook/call-status", { CallSid: "CA-ended", CallStatus: "completed", CallDuration: "2" });
    const late = await player();
    for (const m of recordedCall({ streamSid: "MZ-ended", callSid: "CA-ended", customParameters: ended, audioMs: 20 }).opening) late.send(m);
    expect(await closedWithin(late, 5000)).toBe(1008);
    expect(realtime.connections).toBe(1);
  });
});
