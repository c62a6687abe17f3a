/**
 * A control plane reduced to its proactive path, as a separate process that a test can SIGKILL:
 * the real Scheduler and handlers on PostgreSQL (DATABASE_URL; the database's clock decides what
 * is due), the harness inbox and dispatcher, and each user's agent brain in a JSON file under
 * BRAIN_DIR (the agent's own disk, which outlives this process like a sandbox volume would).
 * Prints "ready", then "fire:start <user>" and "fire:answered <user>" around each alarm.fire.
 */
import pino from "pino";
import { Registry } from "prom-client";
import { systemClock } from "../control-plane/src/clock";
import { openDatabase } from "../control-plane/src/db/database";
import { ScheduleStore } from "../control-plane/src/scheduler/schedule-store";
import { Scheduler } from "../control-plane/src/scheduler/scheduler";
import { SchedulerMetrics } from "../control-plane/src/scheduler/scheduler-metrics";
import { ProactiveGuard } from "../control-plane/src/scheduler/proactive-guard";
import { createHeartbeatHandler } from "../control-plane/src/scheduler/heartbeat-handler";
import { createAlarmHandler } from "../control-plane/src/scheduler/alarm-handler";
import type { AgentCaller } from "../control-plane/src/scheduler/types";
import { HarnessInbox } from "./scheduler-harness";
import { ProactiveBrain } from "./scheduler-agent-brain";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: ":memory:", poolSize: 4 });
  const logger = pino({ level: "silent" });
  const metrics = new SchedulerMetrics(new Registry());
  const store = new ScheduleStore({ database });
  const inbox = new HarnessInbox(database, systemClock, 1500);
  const delayBefore = Number(process.env.FIRE_DELAY_BEFORE_MS ?? 0);
  const delayAfter = Number(process.env.FIRE_DELAY_AFTER_MS ?? 0);
  const agent: AgentCaller = {
    async call(userId, method, params) {
      const brain = new ProactiveBrain("UTC", `${process.env.BRAIN_DIR}/${userId}.json`);
      if (method === "alarm.fire") {
        process.stdout.write(`fire:start ${userId}\n`);
        await sleep(delayBefore);
        const r = brain.alarmFire(params as never);
        process.stdout.write(`fire:answered ${userId}\n`);
        await sleep(delayAfter);
        return r as never;
      }
      return brain.heartbeatRun(params as never) as never;
    },
  };
  const scheduler = new Scheduler({ store, enqueue: inbox.enqueue, clock: systemClock, logger, metrics, heartbeatIntervalMinutes: 30, pollMs: 200 });
  const deps = { database, store, guard: new ProactiveGuard(database), agent, clock: systemClock, logger, metrics, dailyCap: 8 };
  const handlers = { heartbeat: createHeartbeatHandler(deps), alarm: createAlarmHandler({ ...deps, onAlarmSet: () => scheduler.nudge() }) };
  scheduler.start();
  process.stdout.write("ready\n");
  // Bounded: the test kills this process long before.
  for (let i = 0; i < 600; i++) {
    await inbox.drain(handlers).catch(() => undefined);
    await sleep(100);
  }
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
