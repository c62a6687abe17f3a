import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import type { Executor } from "../../db/database";
import { calls, callTurns, users, type Call, type CallTranscriptLine } from "../../db/schema";

export type CallDirection = Call["direction"];
export type CallMode = Call["mode"];

/** Statuses after which Twilio sends nothing more for the call. */
export const TERMINAL_STATUSES = new Set(["completed", "busy", "failed", "no-answer", "canceled"]);

export interface UserDefaults {
  timezone: string;
  activeHoursStart: string;
  activeHoursEnd: string;
}

/** The calls and call_turns tables, and the user lookup by phone that every call starts with. */
export class CallStore {
  constructor(private readonly clock: Clock) {}

  /** By phone, else by WhatsApp id: someone who wrote first and calls later is one user. */
  async findUserByPhone(db: Executor, digits: string): Promise<string | null> {
    const [row] = await db
      .select({ id: users.id })
      .from(users)
      .where(or(eq(users.phone, digits), eq(users.waId, digits)))
      .orderBy(sql`(${users.phone} = ${digits}) DESC NULLS LAST`)
      .limit(1);
    return row?.id ?? null;
  }

  /** The caller's user, created on first contact; concurrent first calls converge on one row. */
  async findOrCreateUserByPhone(db: Executor, digits: string, defaults: UserDefaults): Promise<{ userId: string; created: boolean }> {
    const existing = await this.findUserByPhone(db, digits);
    if (existing) return { userId: existing, created: false };
    const inserted = await db
      .insert(users)
      .values({ phone: digits, ...defaults })
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (inserted[0]) return { userId: inserted[0].id, created: true };
    const again = await this.findUserByPhone(db, digits);
    if (!again) throw new Error("user vanished between insert and select");
    return { userId: again, created: false };
  }

  async userPhone(db: Executor, userId: string): Promise<string | null> {
    const [row] = await db.select({ phone: users.phone }).from(users).where(eq(users.id, userId)).limit(1);
    return row?.phone ?? null;
  }

  async hasWhatsApp(db: Executor, userId: string): Promise<boolean> {
    const [row] = await db.select({ waId: users.waId, bsuid: users.bsuid }).from(users).where(eq(users.id, userId)).limit(1);
    return Boolean(row?.waId || row?.bsuid);
  }

  /** Records a call the first time it is seen; later sightings leave it as it is. */
  async ensureCall(
    db: Executor,
    call: { sid: string; userId: string; direction: CallDirection; mode: CallMode; status: string; trust: Call["trust"]; attestation?: string | null },
  ): Promise<Call> {
    await db.insert(calls).values(call).onConflictDoNothing();
    const found = await this.getCall(db, call.sid);
    if (!found) throw new Error(`call ${call.sid} missing after insert`);
    return found;
  }

  async getCall(db: Executor, sid: string): Promise<Call | null> {
    const [row] = await db.select().from(calls).where(eq(calls.sid, sid)).limit(1);
    return row ?? null;
  }

  /** One more gather that heard nothing; returns how many in a row. */
  async noteSilence(db: Executor, sid: string): Promise<number> {
    const [row] = await db
      .update(calls)
      .set({ silences: sql`${calls.silences} + 1`, updatedAt: this.clock.now() })
      .where(eq(calls.sid, sid))
      .returning({ silences: calls.silences });
    return row?.silences ?? 1;
  }

  /**
   * Opens the next turn with the caller's words. A webhook retried by Twilio (same idempotency
   * token) gets the turn it already opened instead of a second one.
   */
  async startTurn(tx: Executor, sid: string, speech: string, requestKey: string | null): Promise<{ turn: number; created: boolean }> {
    if (requestKey) {
      const [seen] = await tx.select({ turn: callTurns.turn }).from(callTurns).where(eq(callTurns.requestKey, requestKey)).limit(1);
      if (seen) return { turn: seen.turn, created: false };
    }
    const [row] = await tx
      .update(calls)
      .set({ turnCount: sql`${calls.turnCount} + 1`, silences: 0, updatedAt: this.clock.now() })
      .where(eq(calls.sid, sid))
      .returning({ turn: calls.turnCount });
    if (!row) throw new Error(`no call ${sid}`);
    await tx.insert(callTurns).values({ callSid: sid, turn: row.turn, speech, requestKey });
    return { turn: row.turn, created: true };
  }

  async getTurn(db: Executor, sid: string, turn: number): Promise<{ speech: string; reply: string | null; hangUp: boolean } | null> {
    const [row] = await db
      .select({ speech: callTurns.speech, reply: callTurns.reply, hangUp: callTurns.hangUp })
      .from(callTurns)
      .where(and(eq(callTurns.callSid, sid), eq(callTurns.turn, turn)))
      .limit(1);
    return row ?? null;
  }

  /** Stores the agent's reply once (a redelivered turn changes nothing) and extends the transcript. */
  async recordReply(tx: Executor, sid: string, turn: number, reply: string, hangUp: boolean): Promise<boolean> {
    const [updated] = await tx
      .update(callTurns)
      .set({ reply, hangUp, answeredAt: this.clock.now() })
      .where(and(eq(callTurns.callSid, sid), eq(callTurns.turn, turn), isNull(callTurns.reply)))
      .returning({ speech: callTurns.speech });
    if (!updated) return false;
    await this.appendTranscript(tx, sid, [
      { role: "caller", text: updated.speech },
      { role: "assistant", text: reply },
    ]);
    return true;
  }

  async appendTranscript(db: Executor, sid: string, lines: CallTranscriptLine[]): Promise<void> {
    if (lines.length === 0) return;
    await db
      .update(calls)
      .set({ transcript: sql`${calls.transcript} || ${JSON.stringify(lines)}::jsonb`, updatedAt: this.clock.now() })
      .where(eq(calls.sid, sid));
  }

  /**
   * Records a status callback. `ended` is true only for the one callback that first moved the call
   * to a terminal status, so whatever follows the end happens once however often Twilio repeats.
   */
  async recordStatus(tx: Executor, sid: string, status: string, durationSeconds: number | null): Promise<{ call: Call; ended: boolean } | null> {
    const now = this.clock.now();
    const terminal = TERMINAL_STATUSES.has(status);
    const patch = { status, updatedAt: now, ...(durationSeconds !== null ? { durationSeconds } : {}) };
    if (terminal) {
      const [ended] = await tx
        .update(calls)
        .set({ ...patch, endedAt: now })
        .where(and(eq(calls.sid, sid), isNull(calls.endedAt)))
        .returning();
      if (ended) return { call: ended, ended: true };
    }
    // Not terminal, or already ended: a late "ringing" must not undo "completed".
    const [row] = await tx
      .update(calls)
      .set(terminal ? { updatedAt: now, ...(durationSeconds !== null ? { durationSeconds } : {}) } : patch)
      .where(and(eq(calls.sid, sid), terminal ? sql`true` : isNull(calls.endedAt)))
      .returning();
    const call = row ?? (await this.getCall(tx, sid));
    return call ? { call, ended: false } : null;
  }

  async markSummaryQueued(tx: Executor, sid: string): Promise<void> {
    await tx.update(calls).set({ summaryQueued: true, updatedAt: this.clock.now() }).where(eq(calls.sid, sid));
  }

  /**
   * Binds the call's one Media Stream: only a live realtime call of this user without a stream yet.
   * Returns the call's trust, or null when the stream must be refused.
   */
  async claimStream(db: Executor, sid: string, userId: string, streamSid: string): Promise<Call["trust"] | null> {
    const [row] = await db
      .update(calls)
      .set({ streamSid, updatedAt: this.clock.now() })
      .where(and(eq(calls.sid, sid), eq(calls.userId, userId), eq(calls.mode, "realtime"), isNull(calls.streamSid), isNull(calls.endedAt)))
      .returning({ trust: calls.trust, status: calls.status });
    return row && !TERMINAL_STATUSES.has(row.status) ? row.trust : null;
  }

  async setMode(db: Executor, sid: string, mode: CallMode): Promise<void> {
    await db.update(calls).set({ mode, updatedAt: this.clock.now() }).where(eq(calls.sid, sid));
  }
}
