import { sql } from "drizzle-orm";
import { rows, type Database } from "../db/database";
import type { Clock } from "../clock";
import type { Logger } from "../logger";
import type { InboundEventRow } from "../inbox/types";
import type { NewOutboundMessage } from "../outbox/types";
import { isWithinActiveHours, type ActiveHours } from "./active-hours";
import type { ProactiveGuard } from "./proactive-guard";
import type { ScheduleStore } from "./schedule-store";
import type { SchedulerMetrics } from "./scheduler-metrics";
import type { AgentCaller } from "./types";

export interface ProactiveHandlerDeps {
  database: Database;
  store: ScheduleStore;
  guard: ProactiveGuard;
  agent: AgentCaller;
  clock: Clock;
  logger: Logger;
  metrics: SchedulerMetrics;
  /** PROACTIVE_DAILY_CAP: heartbeat messages per user per local day. */
  dailyCap: number;
}

export interface UserContext {
  hours: ActiveHours;
  /** null: the user has no sandbox. */
  sandboxState: string | null;
}

/** The user's hours and their sandbox's state, read without waking anything. */
async function loadUserContext(database: Database, userId: string): Promise<UserContext | null> {
  const [r] = await rows<{ timezone: string; active_hours_start: string; active_hours_end: string; state: string | null }>(
    database.db,
    sql`SELECT u.timezone, u.active_hours_start, u.active_hours_end, b.state
          FROM users u LEFT JOIN sandboxes b ON b.user_id = u.id
         WHERE u.id = ${userId}`,
  );
  if (!r) return null;
  return { hours: { timezone: r.timezone, start: r.active_hours_start, end: r.active_hours_end }, sandboxState: r.state };
}

/**
 * A proactive inbox handler (heartbeat, alarm): the time and the user's context read once at the
 * start; a user deleted while the event waited gets nothing.
 */
export function proactiveHandler(
  deps: ProactiveHandlerDeps,
  component: string,
  handle: (event: InboundEventRow, ctx: UserContext, now: Date, log: Logger) => Promise<NewOutboundMessage[]>,
): (event: InboundEventRow) => Promise<NewOutboundMessage[]> {
  const log = deps.logger.child({ component });
  return async (event) => {
    const now = deps.clock.now();
    const ctx = await loadUserContext(deps.database, event.userId);
    return ctx ? handle(event, ctx, now, log) : [];
  };
}

/**
 * The inbox handler for kind "heartbeat". It runs in the user's queue, so never beside another
 * event of theirs. Silence is the normal outcome and costs nothing: outside active hours, or with
 * a stopped sandbox whose agent said nothing is due yet, the agent is not even asked.
 */
export function createHeartbeatHandler(deps: ProactiveHandlerDeps): (event: InboundEventRow) => Promise<NewOutboundMessage[]> {
  return proactiveHandler(deps, "heartbeat", async (event, ctx, now, log) => {
    // Checked again here: the profile may have changed, or the event waited behind others.
    if (!isWithinActiveHours(now, ctx.hours)) {
      deps.metrics.heartbeatSkipped.inc({ reason: "inactive" });
      return [];
    }
    if (ctx.sandboxState === null || ctx.sandboxState === "deleted") {
      deps.metrics.heartbeatSkipped.inc({ reason: "no_sandbox" });
      return [];
    }
    if (ctx.sandboxState !== "running") {
      const schedule = await deps.store.get(event.userId, "heartbeat");
      const due = schedule?.agentNextDueAt;
      if (!due || due.getTime() > now.getTime()) {
        deps.metrics.heartbeatSkipped.inc({ reason: "asleep" });
        return [];
      }
    }

    deps.metrics.heartbeatRuns.inc();
    const result = await deps.agent.call(event.userId, "heartbeat.run", { idempotencyKey: event.providerId, now: now.toISOString() });
    deps.metrics.heartbeatLlmCalls.inc(result.llmCalls);
    deps.metrics.heartbeatTokens.inc(result.tokens);
    await deps.store.recordHeartbeatReport(event.userId, result.nextDueAt ? new Date(result.nextDueAt) : null);
    log.debug({ userId: event.userId, send: result.send, due: result.due, llmCalls: result.llmCalls }, "heartbeat ran");

    const text = result.text?.trim();
    // "All is well" never reaches the user, in any form.
    if (!result.send || !text) {
      deps.metrics.proactiveSuppressed.inc({ reason: "all_well" });
      return [];
    }
    const verdict = await deps.guard.admitHeartbeat({
      userId: event.userId,
      text,
      sourceKey: event.providerId,
      now,
      timezone: ctx.hours.timezone,
      dailyCap: deps.dailyCap,
    });
    if (!verdict.send) {
      deps.metrics.proactiveSuppressed.inc({ reason: verdict.reason });
      log.info({ userId: event.userId, reason: verdict.reason }, "heartbeat message withheld");
      return [];
    }
    deps.metrics.proactiveSent.inc({ kind: "heartbeat" });
    return [
      {
        userId: event.userId,
        channel: "whatsapp",
        kind: "text",
        body: text,
        proactive: true,
        inboxId: event.id,
        meta: { source: "heartbeat", due: result.due },
      },
    ];
  });
}
