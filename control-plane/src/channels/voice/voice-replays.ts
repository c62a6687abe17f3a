import { lt, sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import { rows, type Executor } from "../../db/database";
import { voiceRequests } from "../../db/schema";

export type ReplayClaim = { fresh: true } | { fresh: false; turn: number | null };

/**
 * Recently seen signed voice webhooks (the voice_requests table). Twilio's signature has no nonce
 * or timestamp, so a captured request stays valid forever: the first sighting of a digest claims
 * it, and the same signed request again within the window is answered from what the first did.
 */
export class VoiceReplays {
  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
  ) {}

  /**
   * Claims the digest inside the caller's transaction. A concurrent twin waits on the row and then
   * sees it taken; a sighting older than the window is claimed afresh.
   */
  async claim(tx: Executor, digest: string, callSid: string): Promise<ReplayClaim> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.windowMs);
    const claimed = await rows<{ digest: string }>(
      tx,
      sql`INSERT INTO voice_requests (digest, call_sid, seen_at) VALUES (${digest}, ${callSid}, ${now.toISOString()})
          ON CONFLICT (digest) DO UPDATE SET seen_at = excluded.seen_at, turn = NULL, call_sid = excluded.call_sid
          WHERE voice_requests.seen_at < ${cutoff.toISOString()}
          RETURNING digest`,
    );
    if (claimed.length > 0) {
      await tx.delete(voiceRequests).where(lt(voiceRequests.seenAt, cutoff));
      return { fresh: true };
    }
    const [seen] = await rows<{ turn: number | null }>(tx, sql`SELECT turn FROM voice_requests WHERE digest = ${digest}`);
    return { fresh: false, turn: seen?.turn ?? null };
  }

  async setTurn(tx: Executor, digest: string, turn: number): Promise<void> {
    await tx.execute(sql`UPDATE voice_requests SET turn = ${turn} WHERE digest = ${digest}`);
  }
}
