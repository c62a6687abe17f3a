import { Router, type Request, type Response } from "express";
import type { Clock } from "../../clock";
import type { Database } from "../../db/database";
import { VOICE_PRIORITY } from "../../inbox/types";
import type { Logger } from "../../logger";
import { CallStore, TERMINAL_STATUSES, type UserDefaults } from "./call-store";
import { phoneDigits } from "./phone";
import { spokenPin, trustFromStirVerstat } from "./caller-trust";
import type { CallTrustStore, PinOutcome } from "./call-trust-store";
import type { AgentPort } from "../../agent-port";
import type { InboxPort, OutboxPort } from "../channel";
import { confirmQuestion } from "./voice-trust-commands";
import { streamToken, streamUrl } from "./stream-token";
import { TurnWaiter } from "./turn-waiter";
import { twilioDigest, verifyTwilioSignature } from "./twilio-signature";
import type { VoiceReplays } from "./voice-replays";
import { fillerTwiml, greetingTwiml, hangupTwiml, limitedGreeting, Phrases, replyTwiml, repromptTwiml, streamTwiml, tooSlowTwiml, TrustPhrases } from "./twiml";

export interface VoiceRouterOptions {
  database: Database;
  authToken: string;
  publicBaseUrl: string;
  logger: Logger;
  clock: Clock;
  agent: Pick<AgentPort, "warm">;
  inbox: InboxPort;
  store: CallStore;
  waiter: TurnWaiter;
  replays: VoiceReplays;
  trust: CallTrustStore;
  /** Where the WhatsApp confirmation question goes; without it only the PIN upgrades a call. */
  outbox?: OutboxPort;
  /** How long a "yes" on WhatsApp upgrades the call after the question went out. */
  confirmWithinMs: number;
  userDefaults: UserDefaults;
  /** Answer with <Connect><Stream> (OPENAI_REALTIME_URL and a key are set). */
  realtime: boolean;
  /** How long one webhook waits for the agent before a filler; Twilio gives up at 15 s. */
  answerLimitMs: number;
  /** Fillers in a row before the caller is asked to repeat. */
  maxWaits: number;
}

type Params = Record<string, string | undefined>;

/** Twilio's webhooks at /voice: incoming call, one speech turn, the reply pick-up, call status. */
export function createVoiceRouter(opts: VoiceRouterOptions): Router {
  const log = opts.logger.child({ component: "voice" });
  const { db } = opts.database;
  const router = Router();
  router.use(verifyTwilioSignature({ authToken: opts.authToken, publicBaseUrl: opts.publicBaseUrl, logger: opts.logger }));

  const twiml = (res: Response, xml: string) => res.status(200).type("text/xml").send(xml);
  // A failure inside a webhook must still give the caller words, never a dead line or a stack trace.
  const safely = (name: string, fn: (p: Params, req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    const p = (req.body ?? {}) as Params;
    try {
      await fn(p, req, res);
    } catch (err) {
      log.error({ err, route: name, callSid: p.CallSid }, "voice webhook failed");
      if (!res.headersSent) twiml(res, hangupTwiml(Phrases.trouble));
    }
  };

  router.post(
    "/webhook/voice",
    safely("voice", async (p, _req, res) => {
      const callSid = p.CallSid ?? "";
      const digits = phoneDigits(p.From);
      if (!callSid || !digits) return void twiml(res, hangupTwiml(Phrases.unknownCaller));
      const { userId, created } = await opts.store.findOrCreateUserByPhone(db, digits, opts.userDefaults);
      // Caller ID alone proves nothing (audit 15.3): only a carrier-attested number is the user.
      const trust = trustFromStirVerstat(p.StirVerstat);
      const call = await opts.store.ensureCall(db, {
        sid: callSid,
        userId,
        direction: "inbound",
        mode: opts.realtime ? "realtime" : "turns",
        status: p.CallStatus ?? "ringing",
        trust,
        attestation: p.StirVerstat ?? null,
      });
      opts.agent.warm(userId);
      log.info({ callSid, userId, newUser: created, realtime: opts.realtime, trust: call.trust, attestation: call.attestation }, "incoming call");
      const asked = call.trust === "limited" ? await askOnWhatsApp(callSid, userId) : false;
      if (opts.realtime) {
        twiml(res, streamTwiml(streamUrl(opts.publicBaseUrl), { userId, token: streamToken(opts.authToken, callSid, userId, opts.clock.now()) }));
      } else if (call.trust === "limited") {
        twiml(res, greetingTwiml(limitedGreeting({ pin: await opts.trust.hasPin(db, userId), whatsapp: asked })));
      } else {
        twiml(res, greetingTwiml());
      }
    }),
  );

  router.post(
    "/webhook/gather",
    safely("gather", async (p, req, res) => {
      const callSid = p.CallSid ?? "";
      const call = callSid ? await opts.store.getCall(db, callSid) : null;
      if (!call) return void twiml(res, hangupTwiml(Phrases.trouble));
      if (isFinished(call)) return void refuseFinished(res, callSid, "gather");
      const speech = (p.SpeechResult ?? "").trim();
      const digest = twilioDigest(res);
      const requestKey = req.header("i-twilio-idempotency-token") ?? null;
      type Outcome = { kind: "silence"; silences: number } | { kind: "replay"; turn: number | null } | { kind: "pin"; outcome: PinOutcome } | { kind: "turn"; turn: number };
      const outcome = await db.transaction(async (tx): Promise<Outcome> => {
        // Two silences in a row are byte-identical requests, so only spoken turns are deduped.
        if (!speech) return { kind: "silence", silences: await opts.store.noteSilence(tx, callSid) };
        const claim = await opts.replays.claim(tx, digest, callSid);
        if (!claim.fresh) return { kind: "replay", turn: claim.turn };
        // A limited call's PIN is checked here and goes no further: not to the agent, not to the transcript.
        const pin = call.trust === "limited" ? spokenPin(speech) : null;
        if (pin !== null) return { kind: "pin", outcome: await opts.trust.tryPin(tx, callSid, call.userId, pin) };
        const started = await opts.store.startTurn(tx, callSid, speech, requestKey);
        await opts.replays.setTurn(tx, digest, started.turn);
        if (started.created) {
          await opts.inbox.enqueue(tx, {
            userId: call.userId,
            channel: "voice",
            kind: "voice_turn",
            providerId: `${callSid}:${started.turn}`,
            payload: { callSid, turn: started.turn, text: speech },
            priority: VOICE_PRIORITY,
          });
        }
        return { kind: "turn", turn: started.turn };
      });
      if (outcome.kind === "replay") {
        log.warn({ callSid, turn: outcome.turn }, "a signed gather came again; answering from the first");
        if (outcome.turn === null) return void res.status(409).type("text/plain").send("this request was already answered");
        return void (await answer(res, callSid, outcome.turn, 0));
      }
      if (outcome.kind === "pin") {
        log.info({ callSid, userId: call.userId, outcome: outcome.outcome }, "caller said a PIN");
        return void twiml(res, replyTwiml(TrustPhrases[outcome.outcome], false));
      }
      if (outcome.kind === "silence") return void twiml(res, outcome.silences >= 2 ? hangupTwiml(Phrases.goodbye) : repromptTwiml());
      await answer(res, callSid, outcome.turn, 0);
    }),
  );

  // Where a filler's <Redirect> comes back to pick the reply up.
  router.post(
    "/webhook/answer",
    safely("answer", async (p, req, res) => {
      const callSid = p.CallSid ?? "";
      const turn = Number(req.query.turn);
      const wait = Number(req.query.wait ?? 1);
      if (!callSid || !Number.isInteger(turn) || turn < 1) return void twiml(res, hangupTwiml(Phrases.trouble));
      const call = await opts.store.getCall(db, callSid);
      if (!call) return void twiml(res, hangupTwiml(Phrases.trouble));
      if (isFinished(call)) return void refuseFinished(res, callSid, "answer");
      await answer(res, callSid, turn, Number.isInteger(wait) && wait > 0 ? wait : 1);
    }),
  );

  router.post(
    "/webhook/call-status",
    safely("call-status", async (p, _req, res) => {
      const callSid = p.CallSid ?? "";
      const status = (p.CallStatus ?? "").toLowerCase();
      if (!callSid || !status) return void res.status(400).type("text/plain").send("CallSid and CallStatus are required");
      const duration = p.CallDuration !== undefined && /^\d+$/.test(p.CallDuration) ? Number(p.CallDuration) : null;
      const outcome = await db.transaction(async (tx) => {
        const recorded = await opts.store.recordStatus(tx, callSid, status, duration);
        if (!recorded) return null;
        const { call, ended } = recorded;
        // Only a completed inbound conversation is worth a summary; a reminder call already said it all.
        if (ended && status === "completed" && call.direction === "inbound" && call.transcript.length > 0 && !call.summaryQueued) {
          await opts.inbox.enqueue(tx, {
            userId: call.userId,
            channel: "voice",
            kind: "call_ended",
            providerId: `${callSid}:ended`,
            payload: { callSid },
          });
          await opts.store.markSummaryQueued(tx, callSid);
          return { call, summary: true };
        }
        return { call, summary: false };
      });
      if (!outcome) log.warn({ callSid, status }, "status for a call we never saw");
      else log.info({ callSid, userId: outcome.call.userId, status, duration, summary: outcome.summary }, "call status");
      res.status(204).end();
    }),
  );

  /** Sends the user the "was that you?" question about this call, once, if they can get WhatsApp. */
  async function askOnWhatsApp(callSid: string, userId: string): Promise<boolean> {
    const outbox = opts.outbox;
    if (!outbox) return false;
    return db.transaction(async (tx) => {
      if (!(await opts.store.hasWhatsApp(tx, userId))) return false;
      if (!(await opts.trust.markConfirmAsked(tx, callSid))) return true;
      const minutes = Math.round(opts.confirmWithinMs / 60_000);
      await outbox.enqueue(tx, [{ userId, channel: "whatsapp", kind: "text", body: confirmQuestion(minutes), proactive: true, meta: { callSid, reason: "call_confirm" } }]);
      return true;
    });
  }

  // Twilio sends nothing but status callbacks after the end: a turn for a finished call is a replay.
  function isFinished(call: { endedAt: Date | null; status: string }): boolean {
    return call.endedAt !== null || TERMINAL_STATUSES.has(call.status);
  }
  function refuseFinished(res: Response, callSid: string, route: string): void {
    log.warn({ callSid, route }, "refused a voice webhook for a call that has ended");
    res.status(409).type("text/plain").send("this call has ended");
  }

  async function answer(res: Response, callSid: string, turn: number, wait: number): Promise<void> {
    const reply = await opts.waiter.wait(callSid, turn, opts.answerLimitMs, async () => {
      const row = await opts.store.getTurn(db, callSid, turn);
      return row?.reply != null ? { reply: row.reply, hangUp: row.hangUp } : null;
    });
    if (reply) return void twiml(res, replyTwiml(reply.reply, reply.hangUp));
    if (wait >= opts.maxWaits) {
      log.warn({ callSid, turn }, "agent too slow for a voice turn; asking the caller to repeat");
      return void twiml(res, tooSlowTwiml());
    }
    twiml(res, fillerTwiml(turn, wait));
  }

  return router;
}
