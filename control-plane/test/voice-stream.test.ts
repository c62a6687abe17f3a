import { eq } from "drizzle-orm";
import { calls } from "../src/db/schema";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";
import { FakeRealtime } from "../../test-support/fake-realtime";
import { recordedCall, TwilioMediaPlayer } from "../../test-support/twilio-media-player";
import { parseTwiml } from "../../test-support/twilio-webhook";
import { VoiceHarness } from "../../test-support/twilio-voice-harness";
import { waitFor } from "../../test-support/wait-for";

const TOOLS = [{ name: "add_task", description: "Add a task to the list", parameters: { type: "object", properties: { title: { type: "string" } }, required: ["title"] } }];

describeEachDriver("Media Streams bridged to a Realtime session", (driver) => {
  const shared = useTestDatabase(driver);
  let realtime: FakeRealtime;
  let h: VoiceHarness;

  beforeEach(async () => {
    realtime = await new FakeRealtime("sk-realtime-test").start();
    h = await new VoiceHarness({
      driver,
      shared,
      realtime: { url: realtime.url, apiKey: "sk-realtime-test", model: "gpt-realtime" },
      realtimeSetupTimeoutMs: 300,
      agentHandlers: {
        "tools.list": () => ({ tools: TOOLS, instructions: "You are Ada's assistant. Keep answers short." }),
        "tool.call": (r) => ({ output: JSON.stringify({ ok: true, created: JSON.parse(r.params.arguments).title }) }),
      },
    }).start();
  });
  afterEach(async () => {
    await h.stop();
    await realtime.stop();
  });

  /** Answers the call like Twilio would and returns the <Stream>'s custom parameters. */
  async function answerCall(callSid: string): Promise<Record<string, string>> {
    // An attested number: the full tool set (a limited caller gets fewer, see voice-trust.test.ts).
    const res = await h.post("/voice/webhook/voice", { CallSid: callSid, From: "+4915112345678", To: "+18005550100", CallStatus: "ringing", Direction: "inbound", StirVerstat: "TN-Validation-Passed-A" });
    const stream = parseTwiml(res.body).children[0]!.children[0]!;
    return Object.fromEntries(stream.children.map((p) => [p.attrs.name!, p.attrs.value!]));
  }

  const streamUrl = () => `${h.localBase.replace("http", "ws")}/voice/stream`;

  it("plays a recorded call: audio both ways as text frames, marks, barge-in, a sandbox tool call, the transcript stored", async () => {
    const customParameters = await answerCall("CA-rt-1");
    const rec = recordedCall({ streamSid: "MZ-rt-1", callSid: "CA-rt-1", customParameters, audioMs: 400 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    for (const m of rec.opening) player.send(m);

    // The session is set up from the agent's workspace: its instructions and its tools, G.711 both ways.
    const update = await realtime.waitFor((e) => e.type === "session.update");
    expect(realtime.lastUrl).toBe("/v1/realtime?model=gpt-realtime");
    expect(update.session).toMatchObject({
      type: "realtime",
      instructions: "You are Ada's assistant. Keep answers short.",
      audio: { input: { format: { type: "audio/pcmu" }, turn_detection: { type: "server_vad" } }, output: { format: { type: "audio/pcmu" } } },
      tools: [{ type: "function", name: "add_task", description: "Add a task to the list", parameters: TOOLS[0]!.parameters }],
    });
    expect(h.agent.received.some((r) => r.method === "tools.list")).toBe(true);

    // Caller audio goes up unchanged, frame by frame.
    for (const m of rec.media) player.send(m);
    await waitFor(() => realtime.appendedBytes === 20 * 160, 5000, "all caller audio appended", 10);
    const appends = realtime.received.filter((e) => e.type === "input_audio_buffer.append");
    expect(appends.map((e) => e.audio)).toEqual(rec.media.map((m) => m.media.payload));

    // The model speaks; Twilio gets media + mark text frames for the stream, and echoes the marks.
    realtime.speak("item_a", 300);
    await player.waitFor((m) => m.event === "mark" && m.mark.name === "item_a:300");
    const out = player.received.filter((m) => m.event === "media");
    expect(out).toHaveLength(3);
    expect(out.every((m) => m.streamSid === "MZ-rt-1" && Buffer.from(m.media.payload, "base64").length === 800)).toBe(true);
    expect(player.received.filter((m) => m.event === "mark").map((m) => m.mark.name)).toEqual(["item_a:100", "item_a:200", "item_a:300"]);

    // Speech after the assistant finished playing is not a barge-in: nothing to cut.
    realtime.speechStarted(400);
    await new Promise((r) => setTimeout(r, 100));
    expect(realtime.received.some((e) => e.type === "conversation.item.truncate")).toBe(false);
    expect(player.received.some((m) => m.event === "clear")).toBe(false);

    // The assistant talks; Twilio has played 300 of 1000 ms when the caller talks over it.
    player.holdMarks = true;
    realtime.speak("item_b", 1000);
    await player.waitFor((m) => m.event === "mark" && m.mark.name === "item_b:1000");
    for (const name of ["item_b:100", "item_b:200", "item_b:300"]) player.echoMark(name, "MZ-rt-1");
    await new Promise((r) => setTimeout(r, 100));
    realtime.speechStarted(900);
    const truncate = await realtime.waitFor((e) => e.type === "conversation.item.truncate");
    expect(truncate).toMatchObject({ item_id: "item_b", content_index: 0, audio_end_ms: 300 });
    expect(await player.waitFor((m) => m.event === "clear")).toEqual({ event: "clear", streamSid: "MZ-rt-1" });

    // A function call runs in the user's sandbox and its output goes back to the session.
    realtime.functionCall("call_42", "add_task", { title: "buy milk" });
    const output = await realtime.waitFor((e) => e.type === "conversation.item.create" && e.item?.type === "function_call_output");
    expect(output.item).toEqual({ type: "function_call_output", call_id: "call_42", output: JSON.stringify({ ok: true, created: "buy milk" }) });
    const toolReq = h.agent.received.find((r) => r.method === "tool.call")!;
    expect(toolReq.params).toEqual({ idempotencyKey: "CA-rt-1:call_42", name: "add_task", arguments: JSON.stringify({ title: "buy milk" }), trust: "full" });
    await waitFor(() => realtime.received.slice(realtime.received.indexOf(output) + 1).some((e) => e.type === "response.create"), 5000, "response.create after the tool output", 10);

    // Keypad digits reach the model as text.
    player.send({ event: "dtmf", streamSid: "MZ-rt-1", sequenceNumber: "99", dtmf: { track: "inbound_track", digit: "5" } });
    const dtmf = await realtime.waitFor((e) => e.type === "conversation.item.create" && e.item?.type === "message");
    expect(dtmf.item.content[0].text).toMatch(/pressed 5/);

    // Transcripts from both sides are stored on the call.
    realtime.callerSaid("add buy milk to my list");
    realtime.assistantSaid("item_c", "Done, buy milk is on your list.");
    player.send(rec.stop);
    await player.closed;
    await h.stream!.idle();
    await waitFor(() => realtime.socket?.readyState === 3, 5000, "realtime socket closed", 10);
    const [row] = await h.tdb.database.db.select().from(calls).where(eq(calls.sid, "CA-rt-1"));
    expect(row!.transcript).toEqual([
      { role: "caller", text: "add buy milk to my list" },
      { role: "assistant", text: "Done, buy milk is on your list." },
    ]);
  });

  it("keeps caller audio that arrives before the session is ready and sends it after session.update", async () => {
    const customParameters = await answerCall("CA-rt-2");
    const rec = recordedCall({ streamSid: "MZ-rt-2", callSid: "CA-rt-2", customParameters, audioMs: 100 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    for (const m of [...rec.opening, ...rec.media]) player.send(m);
    await waitFor(() => realtime.appendedBytes === 5 * 160, 5000, "buffered audio flushed", 10);
    const types = realtime.received.map((e) => e.type);
    expect(types.indexOf("session.update")).toBeLessThan(types.indexOf("input_audio_buffer.append"));
    player.send(rec.stop);
    await player.closed;
  });

  it("refuses a stream whose parameters were not signed by this control plane", async () => {
    const params = await answerCall("CA-rt-3");
    const rec = recordedCall({ streamSid: "MZ-rt-3", callSid: "CA-rt-3", customParameters: { userId: params.userId!, token: "forged-token" }, audioMs: 40 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    for (const m of rec.opening) player.send(m);
    expect((await player.closed).code).toBe(1008);
    expect(realtime.connections).toBe(0);
    expect(h.agent.received.some((r) => r.method === "tools.list")).toBe(false);
  });

  it("returns the failure of a sandbox tool to the session as an output, and the call goes on", async () => {
    h.agent.handlers["tool.call"] = () => {
      throw new Error("database is locked");
    };
    const customParameters = await answerCall("CA-rt-4");
    const rec = recordedCall({ streamSid: "MZ-rt-4", callSid: "CA-rt-4", customParameters, audioMs: 20 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    for (const m of rec.opening) player.send(m);
    await realtime.waitFor((e) => e.type === "session.update");
    realtime.functionCall("call_9", "add_task", { title: "x" });
    const output = await realtime.waitFor((e) => e.type === "conversation.item.create" && e.item?.type === "function_call_output");
    expect(output.item.call_id).toBe("call_9");
    expect(JSON.parse(output.item.output).error).toMatch(/did not work/);
    expect(output.item.output).not.toMatch(/database is locked/);
    player.send(rec.stop);
    await player.closed;
  });

  it("starts the session without the agent's tools when the sandbox is too slow to give its instructions", async () => {
    h.agent.handlers["tools.list"] = () => new Promise(() => undefined);
    const customParameters = await answerCall("CA-rt-5");
    const rec = recordedCall({ streamSid: "MZ-rt-5", callSid: "CA-rt-5", customParameters, audioMs: 20 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    const started = Date.now();
    for (const m of rec.opening) player.send(m);
    const update = await realtime.waitFor((e) => e.type === "session.update");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(update.session.tools).toEqual([]);
    expect(update.session.instructions).toMatch(/personal assistant/);
    expect(await realtime.waitFor((e) => e.type === "response.create")).toBeDefined();
    player.send(rec.stop);
    await player.closed;
  });

  it("ends the stream when the Realtime API refuses the key, so Twilio goes on to the apology after <Connect>", async () => {
    await h.stop();
    h = await new VoiceHarness({ driver, shared, realtime: { url: realtime.url, apiKey: "sk-wrong", model: "gpt-realtime" }, agentHandlers: { "tools.list": () => ({ tools: [], instructions: "x" }) } }).start();
    const customParameters = await answerCall("CA-rt-6");
    const rec = recordedCall({ streamSid: "MZ-rt-6", callSid: "CA-rt-6", customParameters, audioMs: 20 });
    const player = await new TwilioMediaPlayer(streamUrl(), h.streamHeaders()).connect();
    for (const m of rec.opening) player.send(m);
    await player.closed;
    expect(realtime.refused).toBe(1);
    expect(realtime.connections).toBe(0);
  });
});
