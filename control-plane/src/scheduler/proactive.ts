import type { Router } from "express";
import type { Registry } from "prom-client";
import type { Clock } from "../clock";
import type { Database } from "../db/database";
import type { Logger } from "../logger";
import type { InboxPort } from "../channels/channel";
import type { InboundEventRow } from "../inbox/types";
import type { NewOutboundMessage } from "../outbox/types";
import { createAlarmHandler } from "./alarm-handler";
import { createHeartbeatHandler } from "./heartbeat-handler";
import { ProactiveGuard } from "./proactive-guard";
import { ProfileService } from "./profile-service";
import { ScheduleStore } from "./schedule-store";
import { Scheduler } from "./scheduler";
import { createSchedulerAdminRouter } from "./scheduler-admin-router";
import { SchedulerMetrics } from "./scheduler-metrics";
import type { AgentCaller, PlaceCall } from "./types";

export interface ProactiveOptions {
  database: Database;
  /** The inbox writer (Inbox): scheduled events enter the user's queue like any other. */
  inbox: InboxPort;
  /** The user's agent (agent-port.ts): heartbeat.run and alarm.fire. */
  agent: AgentCaller;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  /** Tests only: make this clock, not the database's now(), decide what is due. */
  queryClock?: Clock;
  /** config.heartbeat */
  heartbeat: { intervalMinutes: number; dailyCap: number };
  pollMs?: number;
  /** Urgent reminders also ring the phone when the voice channel provides this. */
  placeCall?: PlaceCall;
}

type Handler = (event: InboundEventRow) => Promise<NewOutboundMessage[]>;

export interface Proactive {
  scheduler: Scheduler;
  store: ScheduleStore;
  profiles: ProfileService;
  handlers: { heartbeat: Handler; alarm: Handler };
  /** Registers the "heartbeat" and "alarm" handlers with the dispatcher. */
  register(dispatcher: { handle(kind: string, handler: Handler): void }): void;
  /** For ConnectionManager.onEvent: mirrors alarm.set and profile.updated. */
  onAgentEvent: (sandboxId: string, event: string, payload: unknown) => void;
  /** PUT/GET /users/:userId/profile, for the /sandbox admin router. */
  adminRoutes: Router;
}

/** Builds the proactive path (scheduler, handlers, profile service) from its parts; main.ts starts and stops the scheduler. */
export function createProactive(o: ProactiveOptions): Proactive {
  const metrics = new SchedulerMetrics(o.metrics);
  const store = new ScheduleStore({ database: o.database, queryClock: o.queryClock });
  const scheduler = new Scheduler({
    store,
    enqueue: (tx, event) => o.inbox.enqueue(tx, event),
    clock: o.clock,
    logger: o.logger,
    metrics,
    heartbeatIntervalMinutes: o.heartbeat.intervalMinutes,
    pollMs: o.pollMs,
  });
  const profiles = new ProfileService({
    database: o.database,
    store,
    logger: o.logger,
    heartbeatIntervalMinutes: o.heartbeat.intervalMinutes,
    onScheduleChanged: () => scheduler.nudge(),
  });
  const deps = { database: o.database, store, guard: new ProactiveGuard(o.database), agent: o.agent, clock: o.clock, logger: o.logger, metrics, dailyCap: o.heartbeat.dailyCap };
  const handlers = {
    heartbeat: createHeartbeatHandler(deps),
    alarm: createAlarmHandler({ ...deps, placeCall: o.placeCall, onAlarmSet: () => scheduler.nudge() }),
  };
  return {
    scheduler,
    store,
    profiles,
    handlers,
    register(dispatcher) {
      dispatcher.handle("heartbeat", handlers.heartbeat);
      dispatcher.handle("alarm", handlers.alarm);
    },
    onAgentEvent: profiles.onAgentEvent,
    adminRoutes: createSchedulerAdminRouter({ profiles }),
  };
}
