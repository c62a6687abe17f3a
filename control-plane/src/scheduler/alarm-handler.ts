import type { InboundEventRow } from "../inbox/types";
import type { NewOutboundMessage } from "../outbox/types";
import { proactiveHandler, type ProactiveHandlerDeps } from "./heartbeat-handler";
import type { PlaceCall } from "./types";

export interface AlarmHandlerDeps extends ProactiveHandlerDeps {
  /** Set when Twilio is configured: urgent reminders also ring the user's phone. */
  placeCall?: PlaceCall;
  /** Told when the alarm time moved, so the scheduler re-arms its exact timer (Scheduler.nudge). */
  onAlarmSet?: () => void;
}

/**
 * The inbox handler for kind "alarm": wake the sandbox (even from stopped), let the agent fire
 * what is due by now, send each reminder at once at any hour, and store the agent's next time.
 * Reminders are deduped per occurrence (id + due time), never capped: the user asked for them.
 */
export function createAlarmHandler(deps: AlarmHandlerDeps): (event: InboundEventRow) => Promise<NewOutboundMessage[]> {
  return proactiveHandler(deps, "alarms", async (event, ctx, now, log) => {
    deps.metrics.alarmsFired.inc();
    const result = await deps.agent.call(event.userId, "alarm.fire", { idempotencyKey: event.providerId, now: now.toISOString() });

    const out: NewOutboundMessage[] = [];
    for (const r of result.reminders) {
      const occurrenceKey = `${r.id}@${new Date(r.dueAt).toISOString()}`;
      const common = { userId: event.userId, sourceKey: event.providerId, now, timezone: ctx.hours.timezone };
      const verdict = await deps.guard.admitOccurrence({ ...common, kind: "reminder", occurrenceKey });
      if (!verdict.send) {
        deps.metrics.proactiveSuppressed.inc({ reason: verdict.reason });
        continue;
      }
      deps.metrics.proactiveSent.inc({ kind: "reminder" });
      out.push({
        userId: event.userId,
        channel: "whatsapp",
        kind: "text",
        body: r.text,
        proactive: true,
        inboxId: event.id,
        meta: { source: "reminder", reminderId: r.id, dueAt: r.dueAt, urgent: r.urgent },
      });
      if (r.urgent && deps.placeCall) {
        // Recorded before dialing: a retry of this event never rings twice (at most once, by design).
        const call = await deps.guard.admitOccurrence({ ...common, kind: "call", occurrenceKey });
        if (call.send) {
          try {
            await deps.placeCall(event.userId, r.text);
            deps.metrics.reminderCalls.inc({ outcome: "placed" });
          } catch (err) {
            // The WhatsApp message still goes out; a failed call must not re-fire the reminder.
            const capped = err instanceof Error && err.name === "CallCapReachedError";
            deps.metrics.reminderCalls.inc({ outcome: capped ? "capped" : "failed" });
            if (capped) log.warn({ userId: event.userId, reminderId: r.id }, "daily reminder call cap reached; this urgent reminder goes to WhatsApp only");
            else log.warn({ err, userId: event.userId, reminderId: r.id }, "could not place the reminder call");
          }
        }
      }
    }
    // The agent's answer is the truth about what comes next; it also stops the recheck backoff.
    await deps.store.setAlarm(event.userId, result.nextAt ? new Date(result.nextAt) : null);
    deps.onAlarmSet?.();
    log.info({ userId: event.userId, fired: result.reminders.length, sent: out.length, nextAt: result.nextAt }, "alarm fired");
    return out;
  });
}
