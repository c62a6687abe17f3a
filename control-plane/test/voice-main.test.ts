import twilio from "twilio";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FakeRealtime } from "../../test-support/fake-realtime";
import { recordedCall, TwilioMediaPlayer } from "../../test-support/twilio-media-player";
import { parseTwiml, postTwilio } from "../../test-support/twilio-webhook";
import { sql } from "drizzle-orm";
import { rows } from "../src/db/database";
import type { ControlPlane } from "../src/main";
import { startTestControlPlane } from "../../test-support/control-plane";

const AUTH_TOKEN = "main-twilio-auth-token";
const PUBLIC_BASE = "https://main.example.test";

describe("Voice wired into the control plane", () => {
  let cp: ControlPlane;
  let realtime: FakeRealtime;
  let dataDir: string;
  beforeAll(async () => {
    realtime = await new FakeRealtime("sk-main").start();
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-voice-main-"));
    cp = await startTestControlPlane({
      DATA_DIR: dataDir,
      PUBLIC_BASE_URL: PUBLIC_BASE,
      TWILIO_ACCOUNT_SID: "AC00000000000000000000000000000002",
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      OPENAI_REALTIME_URL: realtime.url,
      OPENAI_API_KEY: "sk-main",
    });
  }, 120_000);
  afterAll(async () => {
    // The incoming call started the caller's sandbox in the background; let that finish before stopping.
    for (const u of await rows<{ id: string }>(cp.database.db, sql`SELECT id FROM users`)) await cp.sandboxes.ensure(u.id).catch(() => undefined);
    await cp?.stop();
    await realtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it("mounts /voice behind Twilio's signature and answers in real-time mode with a Media Stream", async () => {
    const t = { localBase: cp.url, publicBase: PUBLIC_BASE, authToken: AUTH_TOKEN };
    const params = { CallSid: "CAmain1", From: "+15550001111", To: "+15550002222", CallStatus: "ringing" };
    expect((await postTwilio(t, "/voice/webhook/voice", params, { signature: "bm90IGEgc2lnbmF0dXJl" })).status).toBe(403);
    const res = await postTwilio(t, "/voice/webhook/voice", params);
    expect(res.status).toBe(200);
    const stream = parseTwiml(res.body).children[0]!.children[0]!;
    expect(stream.attrs.url).toBe("wss://main.example.test/voice/stream");
  });

  it("accepts the Media Streams upgrade at /voice/stream and refuses an unsigned stream", async () => {
    // An unsigned upgrade is refused before it becomes a socket; a signed one still needs a valid start frame.
    await expect(new TwilioMediaPlayer(`${cp.url.replace("http", "ws")}/voice/stream`).connect()).rejects.toThrow(/403/);
    const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, "wss://main.example.test/voice/stream", {});
    const player = await new TwilioMediaPlayer(`${cp.url.replace("http", "ws")}/voice/stream`, { "x-twilio-signature": signature }).connect();
    const rec = recordedCall({ streamSid: "MZmain", callSid: "CAmain2", customParameters: { userId: "nobody", token: "x" }, audioMs: 20 });
    for (const m of rec.opening) player.send(m);
    expect((await player.closed).code).toBe(1008);
    expect(realtime.connections).toBe(0);
  });
});
