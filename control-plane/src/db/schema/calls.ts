import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz, createdAt, updatedAt } from "./columns";
import { userIdColumn } from "./users";

export interface CallTranscriptLine {
  role: "caller" | "assistant";
  text: string;
}

/** One phone call, inbound or outbound, keyed by Twilio's CallSid. */
export const calls = pgTable(
  "calls",
  {
    sid: text("sid").primaryKey(),
    userId: userIdColumn(),
    direction: text("direction").$type<"inbound" | "outbound">().notNull(),
    /** turns: <Gather> per turn; realtime: Media Streams bridged to a Realtime session. */
    mode: text("mode").$type<"turns" | "realtime" | "announce">().notNull(),
    /** Twilio's CallStatus: queued, ringing, in-progress, completed, busy, failed, no-answer, canceled. */
    status: text("status").notNull(),
    durationSeconds: integer("duration_seconds"),
    transcript: jsonb("transcript").$type<CallTranscriptLine[]>().notNull().default([]),
    /** Speech turns taken so far: the next turn's number. */
    turnCount: integer("turn_count").notNull().default(0),
    /** Consecutive gathers that heard nothing: the first gets a reprompt, the second a goodbye. */
    silences: integer("silences").notNull().default(0),
    /** Set once, when the completed status first arrives: the summary is asked for exactly once. */
    endedAt: timestamptz("ended_at"),
    summaryQueued: boolean("summary_queued").notNull().default(false),
    /**
     * How far the caller is trusted (docs/voice-trust.md): attested (STIR/SHAKEN A), verified (said
     * the user's PIN, or the user confirmed on WhatsApp), or limited (no personal data, no tools that
     * touch money, contacts, memory or the profile). Outbound calls are ours: attested.
     */
    trust: text("trust").$type<"attested" | "verified" | "limited">().notNull().default("limited"),
    /** Twilio's StirVerstat as it arrived, for the operator's log. */
    attestation: text("attestation"),
    /** Wrong PINs said in this call; past the limit the call stays limited. */
    pinAttempts: integer("pin_attempts").notNull().default(0),
    /** When the WhatsApp "is this you?" question went out; a yes is honoured for a few minutes after. */
    confirmAskedAt: timestamptz("confirm_asked_at"),
    /** The one Media Stream the call's stream token opened (single use). */
    streamSid: text("stream_sid"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("calls_user_created_idx").on(t.userId, t.createdAt)],
);
export type Call = typeof calls.$inferSelect;

/**
 * One spoken turn of a turn-based call. The gather webhook inserts it with the caller's words; the
 * voice_turn handler fills in the reply; the webhook (or its redirect) polls for that reply.
 */
export const callTurns = pgTable(
  "call_turns",
  {
    callSid: text("call_sid")
      .notNull()
      .references(() => calls.sid, { onDelete: "cascade" }),
    turn: integer("turn").notNull(),
    /** Twilio's I-Twilio-Idempotency-Token, when sent: a retried webhook reuses its turn. */
    requestKey: text("request_key"),
    speech: text("speech").notNull(),
    reply: text("reply"),
    hangUp: boolean("hang_up").notNull().default(false),
    createdAt: createdAt(),
    answeredAt: timestamptz("answered_at"),
  },
  (t) => [primaryKey({ columns: [t.callSid, t.turn] }), uniqueIndex("call_turns_request_key_key").on(t.requestKey)],
);
export type CallTurn = typeof callTurns.$inferSelect;

/**
 * Signed voice webhooks seen recently, by a digest of (URL, signature, body): a replay within the
 * window gets the answer of the first (the same turn), never a second run (audit 15.11).
 */
export const voiceRequests = pgTable(
  "voice_requests",
  {
    digest: text("digest").primaryKey(),
    callSid: text("call_sid").notNull(),
    /** The gather's turn, once opened. */
    turn: integer("turn"),
    seenAt: timestamptz("seen_at").notNull(),
  },
  (t) => [index("voice_requests_seen_idx").on(t.seenAt)],
);
