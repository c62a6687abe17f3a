import type { Db } from "./open-database";

export interface Profile {
  name: string | null;
  timezone: string | null;
  activeStart: string | null;
  activeEnd: string | null;
  email: string | null;
  zoomUserId: string | null;
  currency: string;
}

interface ProfileRow {
  name: string | null;
  timezone: string | null;
  active_start: string | null;
  active_end: string | null;
  email: string | null;
  zoom_user_id: string | null;
  currency: string;
}

export function getProfile(db: Db): Profile {
  const row = db.prepare("SELECT * FROM profile WHERE id = 1").get() as ProfileRow | undefined;
  return {
    name: row?.name ?? null,
    timezone: row?.timezone ?? null,
    activeStart: row?.active_start ?? null,
    activeEnd: row?.active_end ?? null,
    email: row?.email ?? null,
    zoomUserId: row?.zoom_user_id ?? null,
    currency: row?.currency ?? "USD",
  };
}

/** Upserts the single profile row; only the fields given change. */
export function updateProfile(db: Db, patch: Partial<Profile>, now: Date): Profile {
  const cur = getProfile(db);
  const next: Profile = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
  db.prepare(
    `INSERT INTO profile (id, name, timezone, active_start, active_end, email, zoom_user_id, currency, updated_at)
     VALUES (1, @name, @timezone, @activeStart, @activeEnd, @email, @zoomUserId, @currency, @updatedAt)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
       active_start = excluded.active_start, active_end = excluded.active_end, email = excluded.email,
       zoom_user_id = excluded.zoom_user_id, currency = excluded.currency, updated_at = excluded.updated_at`,
  ).run({ ...next, updatedAt: now.toISOString() });
  return next;
}
