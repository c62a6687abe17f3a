import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { FakeRtms } from "../../test-support/fake-rtms";
import { signZoomPayload } from "../src/channels/zoom";
import { openDatabase, rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";
import { CLIENT_ID, CLIENT_SECRET, SECRET, meetingEvent, rtmsEvent, waitFor } from "./zoom-harness";

const ADMIN = "zoom-main-admin-token-0123456789";

describe("Zoom wired into the control plane", () => {
  let cp: ControlPlane;
  let dataDir: string;
  let rtms: FakeRtms;
  let stopped = false;
  beforeAll(async () => {
    rtms = await new FakeRtms({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }).start();
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-zoom-main-"));
    cp = await startTestControlPlane({
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      ZOOM_WEBHOOK_SECRET_TOKEN: SECRET,
      ZOOM_CLIENT_ID: CLIENT_ID,
      ZOOM_CLIENT_SECRET: CLIENT_SECRET,
    });
  }, 120_000);
  afterAll(async () => {
    if (!stopped) await cp?.stop();
    await rtms?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const post = (body: unknown) => {
    const raw = JSON.stringify(body);
    return fetch(`${cp.url}/zoom/webhook`, { method: "POST", headers: { "content-type": "application/json", ...signZoomPayload(raw, SECRET, Math.floor(Date.now() / 1000)) }, body: raw });
  };

  it("mounts /zoom/webhook behind the signature and answers url_validation", async () => {
    const res = await post({ event: "endpoint.url_validation", event_ts: Date.now(), payload: { plainToken: "abc123" } });
    expect(await res.json()).toEqual({ plainToken: "abc123", encryptedToken: createHmac("sha256", SECRET).update("abc123").digest("hex") });
    const unsigned = await fetch(`${cp.url}/zoom/webhook`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unsigned.status).toBe(401);
  });

  it("links a user under /sandbox, queues their meeting, follows RTMS, and closes the stream on stop", async () => {
    await cp.database.db.execute(sql`INSERT INTO users (id, wa_id) VALUES ('u-main', '15550009999')`);
    const link = await fetch(`${cp.url}/sandbox/users/u-main/zoom`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ zoomUserId: "Z-MAIN" }) });
    expect(link.status).toBe(200);
    expect((await post(meetingEvent("meeting.started", { uuid: "main==", hostId: "Z-MAIN", eventTs: Date.now() }))).status).toBe(200);
    expect((await post(rtmsEvent("meeting.rtms_started", { uuid: "main==", streamId: "main-stream", serverUrls: rtms.signalingUrl, eventTs: Date.now() }))).status).toBe(200);
    await waitFor(() => rtms.isReady("main-stream"), 10_000, "the RTMS handshake");
    const [ev] = await rows<{ kind: string; channel: string }>(cp.database.db, sql`SELECT kind, channel FROM inbox_events WHERE user_id = 'u-main'`);
    expect(ev).toEqual({ kind: "meeting", channel: "zoom" });
    rtms.say("main-stream", "Ana", "hello from main", Date.now());
    await new Promise((r) => setTimeout(r, 300)); // on the wire; the 15 s batch timer is far off
    stopped = true;
    await cp.stop();
    // Stopping queued the buffered line and let go of the stream for another replica.
    expect(rtms.isReady("main-stream")).toBe(false);
    const reopened = await openDatabase({ dataDir });
    try {
      const lines = await rows<{ n: number }>(reopened.db, sql`SELECT count(*)::int AS n FROM inbox_events WHERE payload->>'kind' = 'transcript'`);
      expect(lines[0]!.n).toBe(1);
      const [s] = await rows<{ owner: string | null; state: string }>(reopened.db, sql`SELECT owner, state FROM rtms_streams WHERE stream_id = 'main-stream'`);
      expect(s).toEqual({ owner: null, state: "active" });
    } finally {
      await reopened.close();
    }
  }, 120_000);
});
