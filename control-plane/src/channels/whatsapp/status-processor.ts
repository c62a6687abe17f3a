import { sql } from "drizzle-orm";
import type { Clock } from "../../clock";
import { rows, type Db } from "../../db/database";
import type { Logger } from "../../logger";
import { templateParam } from "./adapter";
import { META_CODES } from "./graph-errors";
import type { OutboxPort } from "../channel";
import type { ParsedStatus } from "./payload";
import { applyStatus } from "./statuses";

export interface StatusProcessorOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  outsideWindow: "template" | "hold";
  template?: { name: string; language: string };
  outbox?: OutboxPort;
}

/**
 * Applies a webhook's statuses in one transaction: each moves its message forward only (see
 * statuses.ts), and two failures change what happens next. 131026 (cannot receive) marks the user
 * undeliverable; 131047 (the 24-hour window had closed) holds the message until the user writes,
 * or re-sends it as the configured template.
 */
/** How long a status for a not-yet-known wamid is kept for replay, and how many at most. */
const PENDING_TTL_MS = 5 * 60_000;
const PENDING_MAX = 10_000;

export class StatusProcessor {
  private readonly log: Logger;
  /** Statuses that overtook the send's own bookkeeping, by wamid (see WhatsAppAdapter.recordSent). */
  private readonly pending = new Map<string, { statuses: ParsedStatus[]; until: number }>();
  constructor(private readonly opts: StatusProcessorOptions) {
    this.log = opts.logger.child({ component: "whatsapp-statuses" });
  }

  async apply(statuses: ParsedStatus[]): Promise<{ applied: number; unknown: number }> {
    let applied = 0;
    let unknown = 0;
    if (statuses.length === 0) return { applied, unknown };
    const now = this.opts.clock.now();
    await this.opts.db.transaction(async (tx) => {
      for (const s of statuses) {
        const outcome = await applyStatus(tx, s, now);
        if (outcome.applied) applied++;
        if (outcome.unknown) {
          unknown++;
          this.remember(s, now.getTime());
          this.log.debug({ wamid: s.wamid, status: s.status }, "status for a message we do not know (yet)");
        }
        if (s.status !== "failed") continue;
        const code = s.error?.code;
        this.log.warn({ wamid: s.wamid, code, title: s.error?.title, userId: outcome.userId }, "WhatsApp could not deliver a message");
        if (code === META_CODES.undeliverable) {
          if (outcome.userId) await tx.execute(sql`UPDATE users SET undeliverable = true WHERE id = ${outcome.userId}`);
          else if (s.bsuid || s.waId) {
            await tx.execute(sql`UPDATE users SET undeliverable = true WHERE (${s.bsuid ?? null}::text IS NOT NULL AND bsuid = ${s.bsuid ?? null}) OR (${s.waId ?? null}::text IS NOT NULL AND wa_id = ${s.waId ?? null})`);
          }
        }
        if (code === META_CODES.outsideWindow && outcome.applied && outcome.messageId && outcome.userId) {
          if (this.opts.outsideWindow === "template" && this.opts.template && this.opts.outbox) {
            const [m] = await rows<{ content: string }>(tx, sql`SELECT content FROM messages WHERE id = ${outcome.messageId}`);
            await this.opts.outbox.enqueue(tx, [{
              userId: outcome.userId,
              channel: "whatsapp",
              kind: "template",
              body: m?.content ?? "",
              proactive: true,
              meta: { template: { ...this.opts.template, parameters: [templateParam(m?.content ?? "")] }, replaces: outcome.messageId },
            }]);
          } else {
            await tx.execute(sql`UPDATE messages SET status = 'held' WHERE id = ${outcome.messageId}`);
          }
        }
      }
    });
    return { applied, unknown };
  }

  /** Applies statuses that arrived before the message row knew this wamid. */
  async replay(wamid: string): Promise<void> {
    const p = this.pending.get(wamid);
    if (!p) return;
    this.pending.delete(wamid);
    if (p.until >= this.opts.clock.now().getTime()) await this.apply(p.statuses);
  }

  private remember(s: ParsedStatus, now: number): void {
    if (this.pending.size >= PENDING_MAX) {
      for (const [k, v] of this.pending) if (v.until < now || this.pending.size >= PENDING_MAX) this.pending.delete(k);
    }
    const entry = this.pending.get(s.wamid) ?? { statuses: [], until: now + PENDING_TTL_MS };
    entry.statuses.push(s);
    this.pending.set(s.wamid, entry);
  }
}
