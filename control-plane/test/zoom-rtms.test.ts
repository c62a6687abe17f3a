import { sql } from "drizzle-orm";
import { describeEachDriver } from "../../test-support/db";
import { FakeRtms } from "../../test-support/fake-rtms";
import { CLIENT_ID, CLIENT_SECRET, meetingEvent, rtmsEvent, startZoomWorld, waitFor, type ZoomWorld } from "./zoom-harness";

/**
 * RTMS against a local server that speaks its signaling and media protocol (fake-rtms.ts): a
 * scripted meeting's transcript reaches the host's inbox in order and in batches, keep-alives are
 * answered on both sockets, a dropped connection comes back, and a retried rtms_started (on this
 * process or on another replica) never opens a second connection.
 */
const HOST = "host-zoom-id-rtms";
const T0 = Date.parse("2026-11-21T10:00:00Z");

describeEachDriver("Zoom RTMS", (driver) => {
  let w: ZoomWorld;
  let replica: ZoomWorld;
  let fake: FakeRtms;
  const rtmsOpts = (processId: string) => ({
    processId,
    batch: { maxLines: 3, maxWaitMs: 300 },
    reconnect: { attempts: 5, baseDelayMs: 20, maxDelayMs: 100 },
    setupTimeoutMs: 3000,
    // Renewal (and orphan adoption) every second; silence for 1.5 s counts as a dead connection.
    leaseSeconds: 3,
    idleTimeoutMs: 1500,
  });

  beforeAll(async () => {
    fake = await new FakeRtms({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, keepAliveIntervalMs: 200 }).start();
    w = await startZoomWorld(driver, { rtms: rtmsOpts("replica-a") });
    replica = await startZoomWorld(driver, { t: w.t, rtms: rtmsOpts("replica-b") });
    await w.createUser({ id: "u-rtms", zoomUserId: HOST, waId: "15551239999" });
  });
  afterAll(async () => {
    await replica?.stop();
    await w?.stop();
    await fake?.stop();
  });

  const transcriptLines = async (meetingId: string) =>
    (await w.events()).filter((e) => e.payload.kind === "transcript" && e.payload.meetingId === meetingId).flatMap((e) => e.payload.lines as { speaker: string; text: string; ts: string }[]);

  async function startMeeting(uuid: string, streamId: string) {
    expect((await w.post(meetingEvent("meeting.started", { uuid, hostId: HOST, topic: "Planning", eventTs: T0 }))).status).toBe(200);
    // Zoom puts RTMS fields directly in payload; operator_id is empty for auto-started streams.
    expect((await w.post(rtmsEvent("meeting.rtms_started", { uuid, streamId, serverUrls: fake.signalingUrl, eventTs: T0 + 1000 }))).status).toBe(200);
    await waitFor(() => fake.isReady(streamId), 5000, "the RTMS handshake");
  }

  it("delivers a scripted meeting's transcript to the host's agent in order, batched by size and time", async () => {
    await startMeeting("mtg-1==", "stream-1");
    const script = [
      ["Ana", "Good morning everyone"],
      ["Ben", "Morning"],
      ["Ana", "Action item: Ben to send the budget by Friday"],
      ["Ben", "I will update the roadmap"],
      ["Cleo", "Sounds good"],
      ["Ana", "Let's wrap up"],
      ["Ben", "Bye"],
    ] as const;
    script.forEach(([who, text], i) => fake.say("stream-1", who, text, T0 + 60_000 + i * 1000));
    const lines = await waitFor(async () => {
      const l = await transcriptLines("mtg-1==");
      return l.length === script.length ? l : undefined;
    }, 5000, "all transcript lines");
    expect(lines.map((l) => [l.speaker, l.text])).toEqual(script.map(([s, t]) => [s, t]));
    expect(lines[0]!.ts).toBe(new Date(T0 + 60_000).toISOString());
    const batches = (await w.events()).filter((e) => e.payload.kind === "transcript");
    // Two full batches of three, then the last line after the 300 ms wait.
    expect(batches.map((b) => b.payload.lines.length)).toEqual([3, 3, 1]);
    expect(batches.every((b) => b.userId === "u-rtms" && b.channel === "zoom" && b.kind === "meeting")).toBe(true);
    expect(new Set(batches.map((b) => b.providerId)).size).toBe(3);
  });

  it("answers keep-alives on both the signaling and the media socket", async () => {
    for (let i = 0; i < 3; i++) expect(await fake.keepAlive("stream-1")).toBe(true);
    // Zoom's own periodic keep-alives: the server drops a stream that leaves one unanswered.
    const before = fake.stats("stream-1");
    await new Promise((r) => setTimeout(r, 1200));
    const after = fake.stats("stream-1");
    expect(after.keepAlivesAnswered - before.keepAlivesAnswered).toBeGreaterThanOrEqual(3);
    expect(after.droppedForKeepAlive).toBe(0);
    expect(after.signalingConnects).toBe(before.signalingConnects);
  });

  it("opens no second connection for a retried rtms_started, here or on another replica", async () => {
    const before = fake.stats("stream-1");
    const retried = rtmsEvent("meeting.rtms_started", { uuid: "mtg-1==", streamId: "stream-1", serverUrls: fake.signalingUrl, eventTs: T0 + 1000 });
    const results = await Promise.all([w.post(retried), w.post(retried), replica.post(retried), replica.post(retried)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await new Promise((r) => setTimeout(r, 300));
    const after = fake.stats("stream-1");
    expect(after.signalingConnects).toBe(before.signalingConnects);
    expect(after.maxConcurrentSignaling).toBe(1);
    expect(replica.channel.rtms!.activeStreams()).toEqual([]);
    expect(w.channel.rtms!.activeStreams()).toEqual(["stream-1"]);
  });

  it("reconnects after the connection drops and after meeting.rtms_interrupted", async () => {
    const before = fake.stats("stream-1").signalingConnects;
    fake.interrupt("stream-1");
    await waitFor(() => fake.stats("stream-1").signalingConnects === before + 1 && fake.isReady("stream-1"), 5000, "the reconnect after a drop");
    fake.say("stream-1", "Ana", "Are you back?", T0 + 120_000);
    expect((await w.post(rtmsEvent("meeting.rtms_interrupted", { uuid: "mtg-1==", streamId: "stream-1", eventTs: T0 + 121_000 }))).status).toBe(200);
    await waitFor(() => fake.stats("stream-1").signalingConnects === before + 2 && fake.isReady("stream-1"), 5000, "the reconnect after rtms_interrupted");
    fake.say("stream-1", "Ben", "Yes, back", T0 + 125_000);
    expect(await fake.keepAlive("stream-1")).toBe(true);
    const lines = await waitFor(async () => {
      const l = await transcriptLines("mtg-1==");
      return l.length === 9 ? l : undefined;
    }, 5000, "lines after the reconnects");
    expect(lines.slice(7).map((l) => l.text)).toEqual(["Are you back?", "Yes, back"]);
    expect(fake.stats("stream-1").maxConcurrentSignaling).toBe(1);
  });

  it("reconnects a connection that went silent without closing", async () => {
    const before = fake.stats("stream-1").signalingConnects;
    fake.silence("stream-1");
    await waitFor(() => fake.stats("stream-1").signalingConnects === before + 1 && fake.isReady("stream-1"), 8000, "the reconnect after silence");
    expect(fake.stats("stream-1").maxConcurrentSignaling).toBe(1);
  });

  it("adopts a stream whose owner went away (its lease ran out) on exactly one replica", async () => {
    expect((await w.post(meetingEvent("meeting.started", { uuid: "mtg-3==", hostId: HOST, eventTs: T0 + 500_000 }))).status).toBe(200);
    await w.t.database.db.execute(sql`INSERT INTO rtms_streams (stream_id, meeting_uuid, user_id, server_urls, owner, lease_until)
      VALUES ('stream-3', 'mtg-3==', 'u-rtms', ${fake.signalingUrl}, 'a-crashed-replica', now() - interval '1 second')`);
    await waitFor(() => fake.isReady("stream-3"), 8000, "the adoption");
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.stats("stream-3")).toMatchObject({ signalingConnects: 1, maxConcurrentSignaling: 1 });
    expect([...w.channel.rtms!.activeStreams(), ...replica.channel.rtms!.activeStreams()].filter((s) => s === "stream-3")).toEqual(["stream-3"]);
    fake.say("stream-3", "Dee", "picked up again", T0 + 510_000);
    await waitFor(async () => (await transcriptLines("mtg-3==")).length === 1, 5000, "the adopted stream's line");
    expect((await w.post(rtmsEvent("meeting.rtms_stopped", { uuid: "mtg-3==", streamId: "stream-3", eventTs: T0 + 520_000 }))).status).toBe(200);
  });

  it("on meeting.ended closes the stream and queues the last batch before the end, and never reconnects", async () => {
    fake.say("stream-1", "Cleo", "One last thing", T0 + 200_000);
    await new Promise((r) => setTimeout(r, 50)); // the line is in the batcher, its timer not yet due
    expect((await w.post(meetingEvent("meeting.ended", { uuid: "mtg-1==", hostId: HOST, eventTs: T0 + 300_000 }))).status).toBe(200);
    const ev = (await w.events()).filter((e) => e.payload.meetingId === "mtg-1==");
    expect(ev.at(-1)!.payload.kind).toBe("ended");
    expect(ev.at(-2)!.payload.lines.map((l: { text: string }) => l.text)).toEqual(["One last thing"]);
    expect(w.channel.rtms!.activeStreams()).toEqual([]);
    const connects = fake.stats("stream-1").signalingConnects;
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.stats("stream-1").signalingConnects).toBe(connects);
    expect(fake.isReady("stream-1")).toBe(false);
    const [row] = await w.q<{ state: string }>(sql`SELECT state FROM rtms_streams WHERE stream_id = 'stream-1'`);
    expect(row!.state).toBe("stopped");
    // A late retry of rtms_started for a stopped stream opens nothing.
    await w.post(rtmsEvent("meeting.rtms_started", { uuid: "mtg-1==", streamId: "stream-1", serverUrls: fake.signalingUrl, eventTs: T0 + 1000 }));
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.stats("stream-1").signalingConnects).toBe(connects);
  });

  it("stops at once when RTMS refuses the signature, instead of retrying forever", async () => {
    const strict = await new FakeRtms({ clientId: CLIENT_ID, clientSecret: "a-different-secret" }).start();
    try {
      await w.post(meetingEvent("meeting.started", { uuid: "mtg-2==", hostId: HOST, eventTs: T0 + 400_000 }));
      await w.post(rtmsEvent("meeting.rtms_started", { uuid: "mtg-2==", streamId: "stream-2", serverUrls: strict.signalingUrl, eventTs: T0 + 401_000 }));
      await waitFor(() => w.channel.rtms!.activeStreams().length === 0 && strict.refusedStreams().length > 0, 5000, "the refusal");
      await new Promise((r) => setTimeout(r, 300));
      expect(strict.refusedStreams()).toEqual(["stream-2"]);
      const [row] = await w.q<{ owner: string | null }>(sql`SELECT owner FROM rtms_streams WHERE stream_id = 'stream-2'`);
      expect(row!.owner).toBeNull();
    } finally {
      await strict.stop();
    }
  });
});
