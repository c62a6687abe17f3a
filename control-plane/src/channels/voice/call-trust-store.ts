import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import type { Executor } from "../../db/database";
import { calls, users } from "../../db/schema";
import { TERMINAL_STATUSES } from "./call-store";
import { hashPin, verifyPin } from "./voice-pin";

/** Wrong PINs one call may say before PIN entry stops for that call. */
export const MAX_PIN_ATTEMPTS = 3;

export type PinOutcome = "verified" | "wrong" | "locked" | "no_pin";

/**
 * The rows behind a call's trust (docs/voice-trust.md): the user's hashed phone PIN, the PIN
 * attempts of a call, and the WhatsApp confirmation that upgrades a live limited call.
 */
export class CallTrustStore {
  constructor(private readonly clock: Clock) {}

  async setPin(db: Executor, userId: string, pin: string | null): Promise<void> {
    const hash = pin === null ? null : await hashPin(pin);
    await db.update(users).set({ voicePinHash: hash }).where(eq(users.id, userId));
  }

  async hasPin(db: Executor, userId: string): Promise<boolean> {
    const [u] = await db.select({ h: users.voicePinHash }).from(users).where(eq(users.id, userId)).limit(1);
    return Boolean(u?.h);
  }

  /** One PIN said in a limited call: counted first, so parallel guesses cannot pass the limit. */
  async tryPin(db: Executor, callSid: string, userId: string, pin: string): Promise<PinOutcome> {
    const [u] = await db.select({ h: users.voicePinHash }).from(users).where(eq(users.id, userId)).limit(1);
    if (!u?.h) return "no_pin";
    const [counted] = await db
      .update(calls)
      .set({ pinAttempts: sql`${calls.pinAttempts} + 1`, updatedAt: this.clock.now() })
      .where(and(eq(calls.sid, callSid), sql`${calls.pinAttempts} < ${MAX_PIN_ATTEMPTS}`))
      .returning({ attempts: calls.pinAttempts });
    if (!counted) return "locked";
    if (!(await verifyPin(pin, u.h))) return counted.attempts >= MAX_PIN_ATTEMPTS ? "locked" : "wrong";
    await this.upgrade(db, callSid);
    return "verified";
  }

  async upgrade(db: Executor, callSid: string): Promise<void> {
    await db.update(calls).set({ trust: "verified", updatedAt: this.clock.now() }).where(and(eq(calls.sid, callSid), eq(calls.trust, "limited")));
  }

  /** Marks the question asked; false when it already was (a retried webhook asks once). */
  async markConfirmAsked(db: Executor, callSid: string): Promise<boolean> {
    const now = this.clock.now();
    const rows = await db
      .update(calls)
      .set({ confirmAskedAt: now, updatedAt: now })
      .where(and(eq(calls.sid, callSid), isNull(calls.confirmAskedAt)))
      .returning({ sid: calls.sid });
    return rows.length > 0;
  }

  /** The user's newest live limited call whose question went out within `withinMs`. */
  async confirmableCall(db: Executor, userId: string, withinMs: number): Promise<string | null> {
    const since = new Date(this.clock.now().getTime() - withinMs);
    const rows = await db
      .select({ sid: calls.sid, status: calls.status })
      .from(calls)
      .where(and(eq(calls.userId, userId), eq(calls.trust, "limited"), isNull(calls.endedAt), gt(calls.confirmAskedAt, since)))
      .orderBy(desc(calls.confirmAskedAt))
      .limit(1);
    const row = rows[0];
    return row && !TERMINAL_STATUSES.has(row.status) ? row.sid : null;
  }

  /** A "no" (or a later "yes") must not upgrade it afterwards. */
  async withdrawConfirm(db: Executor, callSid: string): Promise<void> {
    await db.update(calls).set({ confirmAskedAt: null, updatedAt: this.clock.now() }).where(eq(calls.sid, callSid));
  }
}
