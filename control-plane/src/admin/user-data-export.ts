import { eq, inArray } from "drizzle-orm";
import type { Db } from "../db/database";
import {
  callTurns,
  calls,
  inboxEvents,
  llmBudgets,
  llmUsage,
  messages,
  outbox,
  proactiveSends,
  rtmsStreams,
  sandboxes,
  schedules,
  users,
  zoomMeetings,
} from "../db/schema";

/**
 * Everything the control plane's own tables hold about one user, for a GDPR export (the agent's
 * data.export covers its workspace and SQLite). Every table with a user_id is here, and each of
 * them cascades from users, so deleting the user row deletes all of it. The sandbox row is shown
 * without its token hash.
 */
export async function exportUserRows(db: Db, userId: string): Promise<Record<string, unknown>> {
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  const callRows = await db.select().from(calls).where(eq(calls.userId, userId));
  const sids = callRows.map((c) => c.sid);
  const sandboxRows = await db.select().from(sandboxes).where(eq(sandboxes.userId, userId));
  return {
    user: user ?? null,
    sandbox: sandboxRows.map(({ tokenHash: _hidden, ...rest }) => rest),
    messages: await db.select().from(messages).where(eq(messages.userId, userId)).orderBy(messages.createdAt),
    calls: callRows,
    callTurns: sids.length > 0 ? await db.select().from(callTurns).where(inArray(callTurns.callSid, sids)) : [],
    meetings: await db.select().from(zoomMeetings).where(eq(zoomMeetings.userId, userId)),
    meetingStreams: await db.select().from(rtmsStreams).where(eq(rtmsStreams.userId, userId)),
    llmUsage: await db.select().from(llmUsage).where(eq(llmUsage.userId, userId)).orderBy(llmUsage.createdAt),
    llmBudget: (await db.select().from(llmBudgets).where(eq(llmBudgets.userId, userId)))[0] ?? null,
    inboxEvents: await db.select().from(inboxEvents).where(eq(inboxEvents.userId, userId)),
    outbox: await db.select().from(outbox).where(eq(outbox.userId, userId)),
    schedules: await db.select().from(schedules).where(eq(schedules.userId, userId)),
    proactiveSends: await db.select().from(proactiveSends).where(eq(proactiveSends.userId, userId)),
  };
}
