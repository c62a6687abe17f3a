/**
 * A control plane reduced to its proactive path, as a separate process that a test can SIGKILL:
 * createProactive (as main.ts builds it) with the real Inbox, Dispatcher and Outbox on PostgreSQL
 * (DATABASE_URL; the database's clock decides what is due), and each user's agent brain in a JSON
 * file under BRAIN_DIR (the agent's own disk, which outlives this process like a sandbox volume).
 * The outbox is not started: its rows are what would go to WhatsApp.
 * Prints "ready", then "fire:start <user>" and "fire:answered <user>" around each alarm.fire.
 */
import pino from "pino";
import { Registry } from "prom-client";
import { systemClock } from "../control-plane/src/clock";
import { openDatabase } from "../control-plane/src/db/database";
import { Inbox } from "../control-plane/src/inbox/inbox";
import { Dispatcher } from "../control-plane/src/inbox/dispatcher";
import { Outbox } from "../control-plane/src/outbox/outbox";
import { createProactive } from "../control-plane/src/scheduler/proactive";
import type { AgentCaller } from "../control-plane/src/scheduler/types";
import { ProactiveBrain } from "./scheduler-agent-brain";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: ":memory:", poolSize: 4 });
  const logger = pino({ level: "silent" });
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
  const outbox = new Outbox({ database, logger });
  // A short lease: after a SIGKILL the next process may take the event over within seconds.
  const dispatcher = new Dispatcher({ database, outbox, logger, concurrency: 2, leaseSeconds: 2, retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 }, pollIntervalMs: 100 });
  const proactive = createProactive({
    database,
    inbox: new Inbox(),
    agent,
    logger,
    metrics: new Registry(),
    clock: systemClock,
    heartbeat: { intervalMinutes: 30, dailyCap: 8 },
    pollMs: 200,
  });
  proactive.register(dispatcher);
  await dispatcher.start();
  proactive.scheduler.start();
  process.stdout.write("ready\n");
  // Bounded: the test kills this process long before.
  await sleep(60_000);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err));
  process.exit(1);
});
