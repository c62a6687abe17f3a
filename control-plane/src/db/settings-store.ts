import { eq } from "drizzle-orm";
import type { Db } from "./database";
import { settings } from "./schema";

/** Insert-if-absent, then read: two replicas starting at once both end up with the first one's value. */
export async function getOrCreateSetting(db: Db, key: string, make: () => string): Promise<string> {
  await db.insert(settings).values({ key, value: make() }).onConflictDoNothing({ target: settings.key });
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, key));
  if (!row) throw new Error(`setting ${key} missing right after insert`);
  return row.value;
}
