import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { FakeRtms } from "../../test-support/fake-rtms";
import { createSandboxHarness, type SandboxHarness } from "../../test-support/sandbox-harness";
import { createZoomChannel, signZoomPayload, type ZoomChannel } from "../src/channels/zoom";
import { systemClock } from "../src/clock";
import { rows } from "../src/db/database";
import type { ProcessRuntime } from "../src/sandboxes/process-runtime";
import { startChannelPath, type ChannelPath } from "./channel-path";
import { ACCESS_TOKEN, PHONE_ID, waitFor } from "./whatsapp-harness";
import { CLIENT_ID, CLIENT_SECRET, SECRET, meetingEvent, rtmsEvent } from "./zoom-harness";

/**
 * A whole Zoom meeting with the real agent (process runtime, real signed WebSocket), the real
 * inbox, dispatcher and outbox, a local RTMS server and a local Graph API: the host's assistant
 * follows the meeting's live transcript and, when it ends, sends one summary on WhatsApp with the
 * action items already added as tasks in the user's own SQLite database.
 */
const HOST = "zoom-host-e2e";
const UUID = "e2eMeetingUuid/+A==";
const STREAM = "e2e-stream-1";
const T0 = Date.now() - 60 * 60_000;

describe("Zoom end to end [process runtime]", () => {
  let t: TestDatabase;
  let h: SandboxHarness;
  let graph: FakeGraphApi;
  let rtms: FakeRtms;
  let channel: ChannelPath;
  let zoom: ZoomChannel;
  let url: string;
  let userId: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    h = await createSandboxHarness({ kind: "process", testDb: t });
    graph = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    rtms = await new FakeRtms({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }).start();
    channel = await startChannelPath({
      t,
      h,
      graphBaseUrl: graph.baseUrl,
      env: { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ZOOM_CLIENT_ID: CLIENT_ID, ZOOM_CLIENT_SECRET: CLIENT_SECRET },
      // As main.ts wires it.
      extend: ({ config, inbox, logger, agent }) => {
        zoom = createZoomChannel({ config, database: t.database, inbox, agent, logger, clock: systemClock, rtms: { batch: { maxLines: 4, maxWaitMs: 500 } } });
        return [zoom];
      },
    });
    url = channel.url;
    // A WhatsApp user whose 24-hour window is open (they wrote a minute ago), linked to their Zoom account.
    userId = await h.createUser({ waId: "4915112345678", phone: "4915112345678", zoomUserId: HOST, lastInboundAt: new Date(Date.now() - 60_000) });
  }, 600_000);

  afterAll(async () => {
    await channel?.stop();
    await rtms?.stop();
    await graph?.stop();
    await h?.cleanup();
    await t?.cleanup();
  }, 120_000);

  const post = (body: unknown) => {
    const raw = JSON.stringify(body);
    return fetch(`${url}/zoom/webhook`, { method: "POST", headers: { "content-type": "application/json", ...signZoomPayload(raw, SECRET, Math.floor(Date.now() / 1000)) }, body: raw });
  };

  it("follows a meeting live and ends it with one WhatsApp summary whose action items are tasks in the user's SQLite", async () => {
    expect((await post(meetingEvent("meeting.started", { uuid: UUID, hostId: HOST, topic: "Budget review", eventTs: T0 }))).status).toBe(200);
    expect((await post(meetingEvent("meeting.participant_joined", { uuid: UUID, hostId: HOST, eventTs: T0 + 1000, participant: { user_name: "Ben Ortiz" } }))).status).toBe(200);
    const started = rtmsEvent("meeting.rtms_started", { uuid: UUID, streamId: STREAM, serverUrls: rtms.signalingUrl, eventTs: T0 + 2000 });
    expect((await post(started)).status).toBe(200);
    expect((await post(started)).status).toBe(200); // Zoom's retry
    await waitFor(async () => rtms.isReady(STREAM), 10_000, "the RTMS handshake");
    expect(await rtms.keepAlive(STREAM)).toBe(true);

    const script: [string, string][] = [
      ["Ana", "Thanks for joining the budget review"],
      ["Ben", "Happy to be here"],
      ["Ana", "Action item: Ben to send the revised budget by Friday"],
      ["Ben", "Sure. I will also book the venue for the offsite"],
      ["Ana", "Great, that's all for today"],
    ];
    script.forEach(([who, text], i) => rtms.say(STREAM, who, text, T0 + 60_000 + i * 5000));
    const ended = meetingEvent("meeting.ended", { uuid: UUID, hostId: HOST, topic: "Budget review", eventTs: T0 + 30 * 60_000 });
    // The meeting ends a moment later; RTMS stops too, and Zoom retries the end.
    await new Promise((r) => setTimeout(r, 100));
    expect((await post(ended)).status).toBe(200);
    expect((await post(rtmsEvent("meeting.rtms_stopped", { uuid: UUID, streamId: STREAM, eventTs: T0 + 30 * 60_000 + 500 }))).status).toBe(200);
    expect((await post(ended)).status).toBe(200);

    await waitFor(async () => graph.sentMessages().length > 0, 120_000, "the meeting summary on WhatsApp");
    await waitFor(async () => {
      const r = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM inbox_events WHERE status IN ('pending', 'processing')`);
      return r[0]!.n === 0;
    }, 60_000, "every meeting event worked");
    await new Promise((r) => setTimeout(r, 500));
    const sent = graph.sentMessages();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: "4915112345678", type: "text" });
    const body: string = sent[0].text.body;
    expect(body).toMatch(/^Meeting summary: "Budget review"/);
    expect(body).toMatch(/Action items \(added to your tasks\):/);
    expect(body).toMatch(/Send the revised budget.*\(Ben\)/);
    expect(body).toMatch(/[Bb]ook the venue for the offsite.*\(Ben\)/);

    // The tasks, read straight from the user's own SQLite file.
    const dbFile = path.join((h.runtime as ProcessRuntime).dataDirOf(userId), "agent.db");
    const sqlite = new BetterSqlite3(dbFile, { readonly: true, fileMustExist: true });
    try {
      const tasks = sqlite.prepare("SELECT title, owner, due_at, source FROM tasks ORDER BY id").all() as { title: string; owner: string | null; due_at: string | null; source: string }[];
      expect(tasks.map((x) => [x.title, x.owner, x.source])).toEqual([
        ["Send the revised budget", "Ben", `meeting:${UUID}`],
        [expect.stringMatching(/^Also book the venue for the offsite$|^Book the venue for the offsite$/), "Ben", `meeting:${UUID}`],
      ]);
      expect(tasks[0]!.due_at).not.toBeNull();
    } finally {
      sqlite.close();
    }

    // The transcript the agent kept in its workspace, in the order it was said.
    const target = await h.service.ensure(userId);
    const exported = await h.connections.request(target, "data.export", {});
    const notes = Object.entries(exported.workspace).find(([p]) => p.startsWith("meetings/"))?.[1] ?? "";
    const positions = script.map(([, text]) => notes.indexOf(text));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(notes).toMatch(/Ben Ortiz joined/);
    // One connection for the stream despite the retried rtms_started.
    expect(rtms.stats(STREAM).signalingConnects).toBe(1);
    const kinds = (await rows<{ kind: string }>(t.database.db, sql`SELECT payload->>'kind' AS kind FROM inbox_events ORDER BY created_at, seq`)).map((r) => r.kind);
    expect(kinds[0]).toBe("started");
    expect(kinds.at(-1)).toBe("ended");
    expect(kinds.filter((k) => k === "ended")).toHaveLength(1);
    expect(kinds.filter((k) => k === "transcript").length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
