import twilio from "twilio";
import { calls, callTurns, users } from "../src/db/schema";
import { describeEachDriver, useTestDatabase } from "../../test-support/db";
import { parseTwiml } from "../../test-support/twilio-webhook";
import { AUTH_TOKEN, PUBLIC_BASE, VoiceHarness, twilioCallParams } from "../../test-support/twilio-voice-harness";

const call = (sid: string, extra: Record<string, string> = {}) => twilioCallParams(sid, "+14155550177", extra);

describeEachDriver("Voice webhook replays and malformed bodies", (driver) => {
  let h: VoiceHarness;
  const shared = useTestDatabase(driver);
  beforeEach(async () => {
    h = await new VoiceHarness({
      driver,
      shared,
      agentHandlers: { "call.turn": async (r) => ({ reply: `You said ${r.params.text}`, hangUp: false }) },
    }).start();
  });
  afterEach(() => h.stop());
  const db = () => h.tdb.database.db;
  const turnsRun = () => h.agent.received.filter((r) => r.method === "call.turn").length;

  describe("audit 15.11: voice replays", () => {
    it("refuses a gather for a finished call: 409, no turn, no agent call", async () => {
      await h.post("/voice/webhook/voice", call("CA-fin", { CallStatus: "ringing" }));
      expect((await h.post("/voice/webhook/call-status", call("CA-fin", { CallStatus: "completed", CallDuration: "9" }))).status).toBe(204);
      const res = await h.post("/voice/webhook/gather", call("CA-fin", { SpeechResult: "read me my expenses" }));
      expect(res.status).toBe(409);
      expect(await db().select().from(callTurns)).toHaveLength(0);
      expect(await h.events()).toHaveLength(0);
      expect(turnsRun()).toBe(0);
    });

    it("refuses an answer pick-up for a finished call", async () => {
      await h.post("/voice/webhook/voice", call("CA-fin2", { CallStatus: "ringing" }));
      expect(parseTwiml((await h.post("/voice/webhook/gather", call("CA-fin2", { SpeechResult: "hello" }))).body).children[0]!.name).toBe("Gather");
      await h.post("/voice/webhook/call-status", call("CA-fin2", { CallStatus: "completed", CallDuration: "9" }));
      const res = await h.post("/voice/webhook/answer?turn=1&wait=1", call("CA-fin2"));
      expect(res.status).toBe(409);
      expect(res.body).not.toMatch(/You said/);
    });

    it("answers a replayed signed gather (no idempotency token) from the first turn, without running it twice", async () => {
      await h.post("/voice/webhook/voice", call("CA-rep", { CallStatus: "ringing" }));
      const params = call("CA-rep", { SpeechResult: "transfer fifty euros to Bob", Confidence: "0.9412" });
      const first = await h.post("/voice/webhook/gather", params);
      const [again, concurrent] = await Promise.all([h.post("/voice/webhook/gather", params), h.post("/voice/webhook/gather", params)]);
      for (const r of [first, again, concurrent]) {
        expect(r.status).toBe(200);
        expect(parseTwiml(r.body).children[0]!.children[0]!.text).toBe("You said transfer fifty euros to Bob");
      }
      expect(await db().select().from(callTurns)).toHaveLength(1);
      expect((await h.events()).filter((e) => e.kind === "voice_turn")).toHaveLength(1);
      expect(turnsRun()).toBe(1);
      // Different words are a new turn, as ever.
      await h.post("/voice/webhook/gather", call("CA-rep", { SpeechResult: "never mind", Confidence: "0.9" }));
      expect(await db().select().from(callTurns)).toHaveLength(2);
    });
  });

  describe("audit 15.14: a signed voice request with a non-form body answers 400", () => {
    it.each([
      ["application/json", JSON.stringify(call("CA-json"))],
      ["text/plain", "CallSid=CA-json"],
      [undefined, ""],
    ])("answers 400 to %s, creates nothing", async (contentType, body) => {
      // Signed as Twilio would sign a request with no form parameters: over the URL alone.
      const signature = twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE}/voice/webhook/voice`, {});
      for (const path of ["/voice/webhook/voice", "/voice/webhook/gather", "/voice/webhook/call-status"]) {
        const sig = path.endsWith("/voice") ? signature : twilio.getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE}${path}`, {});
        const res = await fetch(`${h.localBase}${path}`, {
          method: "POST",
          headers: { ...(contentType ? { "content-type": contentType } : {}), "x-twilio-signature": sig },
          body,
        });
        expect(res.status).toBe(400);
        expect(await res.text()).not.toMatch(/Error|at /);
      }
      expect(await db().select().from(users)).toHaveLength(0);
      expect(await db().select().from(calls)).toHaveLength(0);
    });
  });
});
