import { createHmac } from "node:crypto";
import { sql } from "drizzle-orm";
import { describeEachDriver } from "../../test-support/db";
import { parseZoomEvent, verifyZoomSignature } from "../src/channels/zoom";
import { ManualClock } from "../src/clock";
import { ADMIN, SECRET, meetingEvent, rtmsEvent, startZoomWorld, waitFor, type ZoomWorld } from "./zoom-harness";

/** HMAC computed here with node:crypto alone, not with the code under test. */
const hmacHex = (key: string, msg: string) => createHmac("sha256", key).update(msg).digest("hex");

describe("Zoom signatures (known vectors)", () => {
  const body = Buffer.from('{"event":"meeting.started","event_ts":1763719200000,"payload":{"object":{"uuid":"4444AAAiAAAAAiAiAiiAii=="}}}');
  const ts = "1763719200";
  const now = new Date(1763719200 * 1000 + 30_000);
  const good = `v0=${hmacHex(SECRET, `v0:${ts}:${body.toString()}`)}`;

  it("accepts v0=HMAC(secret, v0:{timestamp}:{raw body})", () => {
    expect(verifyZoomSignature(body, { signature: good, timestamp: ts }, SECRET, now)).toBe("valid");
  });
  it("refuses a signature made with another secret, a tampered body, or a missing header", () => {
    const other = `v0=${hmacHex("another-secret", `v0:${ts}:${body.toString()}`)}`;
    expect(verifyZoomSignature(body, { signature: other, timestamp: ts }, SECRET, now)).toBe("invalid");
    expect(verifyZoomSignature(Buffer.from(body.toString().replace("started", "ended")), { signature: good, timestamp: ts }, SECRET, now)).toBe("invalid");
    expect(verifyZoomSignature(body, { signature: good, timestamp: String(Number(ts) + 1) }, SECRET, now)).toBe("invalid");
    expect(verifyZoomSignature(body, { signature: undefined, timestamp: ts }, SECRET, now)).toBe("missing");
    expect(verifyZoomSignature(body, { signature: good, timestamp: undefined }, SECRET, now)).toBe("missing");
    expect(verifyZoomSignature(body, { signature: good.slice(3), timestamp: ts }, SECRET, now)).toBe("invalid");
  });
  it("refuses timestamps more than 5 minutes old or ahead, even with a valid HMAC", () => {
    expect(verifyZoomSignature(body, { signature: good, timestamp: ts }, SECRET, new Date(1763719200 * 1000 + 5 * 60_000 + 1000))).toBe("stale");
    expect(verifyZoomSignature(body, { signature: good, timestamp: ts }, SECRET, new Date(1763719200 * 1000 - 5 * 60_000 - 1000))).toBe("stale");
  });
  it("reads RTMS fields directly from payload", () => {
    expect(parseZoomEvent({ event: "meeting.rtms_started", event_ts: 1, payload: { meeting_uuid: "u==", rtms_stream_id: "s1", server_urls: "wss://x", operator_id: "op" } })).toMatchObject({
      type: "rtms",
      kind: "started",
      meetingUuid: "u==",
      streamId: "s1",
      serverUrls: "wss://x",
      operatorId: "op",
    });
  });
});

describeEachDriver("Zoom webhook", (driver) => {
  const signedFor = async (raw: string) => `v0=${hmacHex(SECRET, `v0:${Math.floor(clock.now().getTime() / 1000)}:${raw}`)}`;
  let w: ZoomWorld;
  const clock = new ManualClock(new Date());
  beforeAll(async () => {
    w = await startZoomWorld(driver, { clock, clientCredentials: false });
    await w.createUser({ id: "u-host", zoomUserId: "KDcuGIm1QgePTO8WbOqwIQ", waId: "15551230001" });
    await w.createUser({ id: "u-mail", email: "Pat@Example.com", waId: "15551230002" });
  });
  afterAll(async () => {
    await w?.stop();
  });
  beforeEach(async () => {
    clock.set(new Date());
    await w.t.database.db.execute(sql`DELETE FROM inbox_events`);
  });

  it("answers endpoint.url_validation with encryptedToken = hex HMAC(secret, plainToken)", async () => {
    const res = await w.post({ event: "endpoint.url_validation", event_ts: 1763719200000, payload: { plainToken: "qgg8vlvZRS6UYooatFL8Aw" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ plainToken: "qgg8vlvZRS6UYooatFL8Aw", encryptedToken: hmacHex(SECRET, "qgg8vlvZRS6UYooatFL8Aw") });
  });

  it("does not answer an unsigned url_validation (it would be a signing oracle for our secret)", async () => {
    const res = await fetch(`${w.url}/zoom/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ event: "endpoint.url_validation", payload: { plainToken: "v0:1763719200:{}" } }),
    });
    expect(res.status).toBe(401);
    expect(JSON.stringify(await res.json())).not.toMatch(/encryptedToken/);
  });

  it("refuses wrong, missing and stale signatures with 401 and queues nothing", async () => {
    const body = meetingEvent("meeting.started", { uuid: "sig==", hostId: "KDcuGIm1QgePTO8WbOqwIQ", eventTs: 1 });
    expect((await w.post(body, { secret: "not-the-secret" })).status).toBe(401);
    expect((await w.post(body, { ts: Math.floor(clock.now().getTime() / 1000) - 6 * 60 })).status).toBe(401);
    expect((await w.post(body, { ts: Math.floor(clock.now().getTime() / 1000) + 6 * 60 })).status).toBe(401);
    const raw = JSON.stringify(body);
    // Signed for one body, delivered with another.
    const signedOther = await w.post(body, { raw, headers: { "x-zm-signature": (await signedFor(raw.replace("sig==", "other=="))) } });
    expect(signedOther.status).toBe(401);
    const res = await fetch(`${w.url}/zoom/webhook`, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
    expect(res.status).toBe(401);
    const forged = await fetch(`${w.url}/zoom/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-zm-request-timestamp": String(Math.floor(clock.now().getTime() / 1000)), "x-zm-signature": `v0=${"0".repeat(64)}` },
      body: raw,
    });
    expect(forged.status).toBe(401);
    expect(await w.events()).toEqual([]);
    expect(await w.q(sql`SELECT * FROM zoom_meetings WHERE uuid = 'sig=='`)).toEqual([]);
  });

  it("queues a linked host's meeting events for their agent, once despite Zoom's retries", async () => {
    const host = "KDcuGIm1QgePTO8WbOqwIQ";
    const started = meetingEvent("meeting.started", { uuid: "m1==", hostId: host, topic: "Roadmap", eventTs: 1763719200000 });
    for (let i = 0; i < 2; i++) expect((await w.post(started)).status).toBe(200);
    const joined = meetingEvent("meeting.participant_joined", { uuid: "m1==", hostId: host, eventTs: 1763719260000, participant: { user_name: "Ana Lima" } });
    expect((await w.post(joined)).status).toBe(200);
    const left = meetingEvent("meeting.participant_left", { uuid: "m1==", hostId: host, eventTs: 1763719800000, participant: { user_name: "Ana Lima" } });
    expect((await w.post(left)).status).toBe(200);
    expect((await w.post(left)).status).toBe(200);
    const ended = meetingEvent("meeting.ended", { uuid: "m1==", hostId: host, eventTs: 1763721000000 });
    expect((await w.post(ended)).status).toBe(200);
    // rtms_stopped also ends the meeting; the user gets one "ended", not two.
    expect((await w.post(rtmsEvent("meeting.rtms_stopped", { uuid: "m1==", streamId: "never-opened", eventTs: 1763721000500 }))).status).toBe(200);

    const ev = await w.events();
    expect(ev.map((e) => [e.userId, e.channel, e.kind, e.payload.kind])).toEqual([
      ["u-host", "zoom", "meeting", "started"],
      ["u-host", "zoom", "meeting", "participant_joined"],
      ["u-host", "zoom", "meeting", "participant_left"],
      ["u-host", "zoom", "meeting", "ended"],
    ]);
    expect(ev[0]!.payload).toMatchObject({ meetingId: "m1==", topic: "Roadmap", at: "2026-11-21T10:00:00.000Z" });
    expect(ev[1]!.payload).toMatchObject({ participant: "Ana Lima" });
    const [m] = await w.q<{ user_id: string; ended_at: unknown }>(sql`SELECT user_id, ended_at FROM zoom_meetings WHERE uuid = 'm1=='`);
    expect(m!.user_id).toBe("u-host");
    expect(m!.ended_at).not.toBeNull();
  });

  it("acknowledges and ignores events whose host nobody linked", async () => {
    expect((await w.post(meetingEvent("meeting.started", { uuid: "m3==", hostId: "stranger", eventTs: 6 }))).status).toBe(200);
    expect((await w.post(rtmsEvent("meeting.rtms_started", { uuid: "m3==", streamId: "s-x", serverUrls: "ws://127.0.0.1:9/never", operatorId: "stranger", eventTs: 7 }))).status).toBe(200);
    expect((await w.post({ event: "recording.completed", event_ts: 8, payload: {} })).status).toBe(200);
    expect(await w.events()).toEqual([]);
    expect(await w.q(sql`SELECT * FROM rtms_streams`)).toEqual([]);
  });

  it("links a user's Zoom identity through PUT /sandbox/users/:userId/zoom", async () => {
    await w.createUser({ id: "u-new" });
    const put = (userId: string, body: unknown, token = ADMIN) =>
      fetch(`${w.url}/sandbox/users/${userId}/zoom`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    expect((await put("u-new", { zoomUserId: "Z-NEW" }, "wrong-token-wrong-token")).status).toBe(401);
    expect((await put("u-new", { zoomUserId: "x".repeat(129) })).status).toBe(400);
    expect((await put("u-new", { nickname: "x" })).status).toBe(400);
    expect((await put("nobody", { zoomUserId: "Z-NOBODY" })).status).toBe(404);
    expect((await put("u-new", { zoomUserId: "KDcuGIm1QgePTO8WbOqwIQ" })).status).toBe(409);
    const ok = await put("u-new", { zoomUserId: "Z-NEW" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ userId: "u-new", zoomUserId: "Z-NEW" });
    expect((await w.post(meetingEvent("meeting.started", { uuid: "m4==", hostId: "Z-NEW", eventTs: 9 }))).status).toBe(200);
    expect((await w.events()).map((e) => e.userId)).toEqual(["u-new"]);
  });

  it("answers 400 to a body that is not JSON, after the signature", async () => {
    expect((await w.post(null, { raw: "{not json" })).status).toBe(400);
  });
});

describeEachDriver("audit 15.1: a user's own agent cannot take over another user's Zoom meetings", (driver) => {
  let w: ZoomWorld;
  const clock = new ManualClock(new Date());
  const VICTIM_ZOOM_ID = "VICTIMzoomID000000000a";
  const put = (userId: string, body: unknown) =>
    fetch(`${w.url}/sandbox/users/${userId}/zoom`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(body) });
  beforeAll(async () => {
    w = await startZoomWorld(driver, { clock, clientCredentials: false });
    await w.createUser({ id: "u-victim", waId: "15551240001" });
    // The attacker's agent put the victim's email in its profile (the agent's own copy may be mirrored here).
    await w.createUser({ id: "u-attacker", email: "victim@example.com", waId: "15551240002" });
    await w.t.database.db.execute(sql`INSERT INTO sandboxes (id, user_id, state) VALUES ('sbx-attacker', 'u-attacker', 'running')`);
  });
  afterAll(async () => {
    await w?.stop();
  });
  beforeEach(async () => {
    await w.t.database.db.execute(sql`DELETE FROM inbox_events`);
  });

  it("routes a meeting on the host's Zoom user id, never on host_email", async () => {
    const body = meetingEvent("meeting.started", { uuid: "take1==", hostId: VICTIM_ZOOM_ID, eventTs: 11 });
    (body.payload.object as Record<string, unknown>).host_email = "victim@example.com";
    expect((await w.post(body)).status).toBe(200);
    expect(await w.events()).toEqual([]);
  });

  it("links nothing from an agent's profile.updated, so the real owner can still be linked by the operator", async () => {
    // Today's wiring hands every agent event to the channel's listener, if it has one.
    const listener = (w.channel as unknown as { onAgentEvent?: (sandboxId: string, event: string, payload: unknown) => void }).onAgentEvent;
    listener?.("sbx-attacker", "profile.updated", { email: "victim@example.com", zoomUserId: VICTIM_ZOOM_ID });
    await new Promise((r) => setTimeout(r, 200)); // the old listener applied it asynchronously
    expect(await w.q(sql`SELECT id FROM users WHERE zoom_user_id = ${VICTIM_ZOOM_ID}`)).toEqual([]);
    const linked = await put("u-victim", { zoomUserId: VICTIM_ZOOM_ID });
    expect(linked.status).toBe(200);
    expect((await w.post(meetingEvent("meeting.started", { uuid: "take2==", hostId: VICTIM_ZOOM_ID, eventTs: 12 }))).status).toBe(200);
    expect((await w.events()).map((e) => e.userId)).toEqual(["u-victim"]);
  });

  it("keeps one user per Zoom id and one Zoom id per user: a taken id is 409, relinking replaces", async () => {
    expect((await put("u-attacker", { zoomUserId: VICTIM_ZOOM_ID })).status).toBe(409);
    expect((await put("u-attacker", { zoomUserId: "ATTACKER-OWN" })).status).toBe(200);
    expect((await put("u-attacker", { zoomUserId: "ATTACKER-NEW" })).status).toBe(200);
    expect(await w.q(sql`SELECT zoom_user_id FROM users WHERE id = 'u-attacker'`)).toEqual([{ zoom_user_id: "ATTACKER-NEW" }]);
    // An email is not an identity the operator can link either.
    expect((await put("u-attacker", { email: "victim@example.com" })).status).toBe(400);
  });
});
