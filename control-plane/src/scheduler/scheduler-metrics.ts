import type { Counter, Registry } from "prom-client";
import { registryCounter } from "../metrics";

/**
 * What proactivity costs and how often it speaks. A day of heartbeats for a user with nothing due
 * shows up here as runs with zero LLM calls.
 */
export class SchedulerMetrics {
  readonly scheduled: Counter<"kind">;
  readonly heartbeatRuns: Counter<string>;
  readonly heartbeatSkipped: Counter<"reason">;
  readonly heartbeatLlmCalls: Counter<string>;
  readonly heartbeatTokens: Counter<string>;
  readonly proactiveSent: Counter<"kind">;
  readonly proactiveSuppressed: Counter<"reason">;
  readonly alarmsFired: Counter<string>;
  readonly reminderCalls: Counter<"outcome">;

  constructor(registry: Registry) {
    // One registry may be handed to several schedulers in a test process: reuse what is there.
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> => registryCounter(registry, name, help, labelNames);
    this.scheduled = counter("concierge_scheduler_events_enqueued_total", "Heartbeat and alarm events handed to the inbox", ["kind"]);
    this.heartbeatRuns = counter("concierge_heartbeats_run_total", "heartbeat.run requests made to agents");
    this.heartbeatSkipped = counter("concierge_heartbeats_skipped_total", "Heartbeats not run (inactive hours, asleep with nothing due, missed while down)", ["reason"]);
    this.heartbeatLlmCalls = counter("concierge_heartbeat_llm_calls_total", "LLM calls agents made during heartbeats");
    this.heartbeatTokens = counter("concierge_heartbeat_llm_tokens_total", "LLM tokens agents spent during heartbeats");
    this.proactiveSent = counter("concierge_proactive_messages_total", "Proactive messages queued for users", ["kind"]);
    this.proactiveSuppressed = counter("concierge_proactive_suppressed_total", "Proactive messages withheld (all is well, duplicate within 24 h, daily cap)", ["reason"]);
    this.alarmsFired = counter("concierge_alarms_fired_total", "alarm.fire requests made to agents");
    this.reminderCalls = counter("concierge_reminder_calls_total", "Phone calls placed for urgent reminders", ["outcome"]);
  }
}
