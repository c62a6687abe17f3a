import { sql, type SQL } from "drizzle-orm";
import { rows, type Executor } from "../../db/database";

export interface WhatsAppIdentity {
  waId?: string;
  bsuid?: string;
  name?: string;
}

export interface NewUserDefaults {
  timezone?: string;
  activeHoursStart?: string;
  activeHoursEnd?: string;
}

/** The query that picks the user behind a sender (see findOrCreateWhatsAppUser), selecting `columns`. */
export function findWhatsAppUserSql(who: WhatsAppIdentity, columns: SQL): SQL {
  const bsuid = who.bsuid ?? null;
  const waId = who.waId ?? null;
  return sql`SELECT ${columns} FROM users
             WHERE (${bsuid}::text IS NOT NULL AND bsuid = ${bsuid})
                OR (${waId}::text IS NOT NULL AND (wa_id = ${waId} OR phone = ${waId}))
             ORDER BY (bsuid IS NOT DISTINCT FROM ${bsuid}) DESC, (wa_id IS NOT DISTINCT FROM ${waId}) DESC, created_at
             LIMIT 1`;
}

/**
 * Finds the user behind a WhatsApp sender, or creates them on first contact. The business-scoped
 * user id wins when present (a number can change hands; a BSUID cannot); else wa_id, else a user
 * the phone channel already created with the same number. Missing identifiers are filled in, but
 * never taken from another user (that would violate a unique index and fail the whole webhook).
 */
export async function findOrCreateWhatsAppUser(
  tx: Executor,
  who: WhatsAppIdentity,
  defaults: NewUserDefaults = {},
): Promise<{ id: string; created: boolean; undeliverable: boolean }> {
  const bsuid = who.bsuid ?? null;
  const waId = who.waId ?? null;
  if (!bsuid && !waId) throw new Error("a WhatsApp sender needs a wa_id or a business-scoped user id");

  const find = () => rows<{ id: string; undeliverable: boolean }>(tx, findWhatsAppUserSql(who, sql`id, undeliverable`), "whatsapp.user.find");

  let [found] = await find();
  if (!found) {
    const inserted = await rows<{ id: string }>(
      tx,
      sql`INSERT INTO users (wa_id, phone, bsuid, name, timezone, active_hours_start, active_hours_end)
          VALUES (${waId}, ${waId}, ${bsuid}, ${who.name ?? null},
                  ${defaults.timezone ?? "UTC"}, ${defaults.activeHoursStart ?? "07:00"}, ${defaults.activeHoursEnd ?? "23:00"})
          ON CONFLICT DO NOTHING
          RETURNING id`,
      "whatsapp.user.create",
    );
    if (inserted[0]) return { id: inserted[0].id, created: true, undeliverable: false };
    // Another webhook created them a moment ago.
    [found] = await find();
    if (!found) throw new Error("user vanished while being created");
  }
  await rows(
    tx,
    sql`
    UPDATE users SET
      bsuid = CASE WHEN bsuid IS NULL AND ${bsuid}::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users o WHERE o.bsuid = ${bsuid}) THEN ${bsuid} ELSE bsuid END,
      wa_id = CASE WHEN wa_id IS NULL AND ${waId}::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users o WHERE o.wa_id = ${waId}) THEN ${waId} ELSE wa_id END,
      phone = CASE WHEN phone IS NULL AND ${waId}::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users o WHERE o.phone = ${waId}) THEN ${waId} ELSE phone END,
      name = COALESCE(${who.name ?? null}, name)
    WHERE id = ${found.id}`,
    "whatsapp.user.update",
  );
  return { id: found.id, created: false, undeliverable: found.undeliverable };
}

/** A message from the user opens (or extends) the 24-hour customer-service window. */
export async function touchLastInbound(tx: Executor, userId: string, at: Date): Promise<void> {
  await rows(
    tx,
    sql`
    UPDATE users SET last_inbound_at = GREATEST(COALESCE(last_inbound_at, ${at.toISOString()}::timestamptz), ${at.toISOString()}::timestamptz),
                     undeliverable = false
    WHERE id = ${userId}`,
    "whatsapp.user.window",
  );
}

export function insideWindow(lastInboundAt: Date | null | undefined, now: Date): boolean {
  return !!lastInboundAt && now.getTime() - lastInboundAt.getTime() < 24 * 60 * 60 * 1000;
}
