/**
 * `npm run bench -- route [--users=N] [--messages=M] [--turn-ms=T] [--repeat=R] [--no-floor] [--idle-seconds=S] [--pool=P] [--bare]`
 * `npm run bench -- route --explain [--done-rows=1000000]`
 *
 * N simulated users on the real path: a signed WhatsApp webhook over HTTP -> inbox row (one
 * transaction) -> dispatcher -> the user's "sandbox" over an authenticated WebSocket (an instant
 * fake agent) -> outbox -> the WhatsApp adapter -> a local server speaking the Graph API. Each user
 * sends M messages, one after another, each after the previous reply arrived (a person chatting).
 *
 * Beside it, in the same run and at the same concurrency, the floor: one HTTP request in, one
 * PostgreSQL commit, one WebSocket round trip (each user to their own sandbox, as on the route),
 * one HTTP request out, back to back. The difference is what routing adds (durability, ordering,
 * the read receipt and typing call the channel makes). With --turn-ms the floor's agent call takes
 * that long too: the floor is then what this machine does for that load with no routing at all,
 * the ceiling beside the 2 s goals.
 *
 * The load generator (the users' webhook sender, the fake agent, the local Graph API) runs in a
 * child process (bench/route-load.ts); this process is the control plane alone. Earlier, all of it
 * shared one process: the generator took the control plane's CPU, and in a different proportion
 * for the floor (one cheap handler) than for the route, so the ratio measured neither fairly. Now
 * both cross the same process boundaries, and a CPU profile of this process (`node --cpu-prof
 * --import tsx control-plane/bench/route.ts`) shows the control plane's own work only.
 *
 * The dispatcher and outbox run at the product's defaults (config.ts, main.ts's retry schedule, the
 * default pool size). --turn-ms makes every agent turn take that long (a model turn). On
 * PostgreSQL the bench also reports database transactions per turn (pg_stat_database xact_commit
 * of its own database), round trips per turn (statements the control plane's pg clients sent,
 * BEGIN and COMMIT included) and, with --idle-seconds, transactions per second with no traffic. --explain instead shows the claim statement's plan and cost with and without
 * --done-rows finished rows in the inbox.
 *
 * --repeat=R measures R pairs, floor then route, one after the other, each with users of its own
 * (new to the control plane, as in one run), and reports every pair and the medians of their
 * ratios: on a machine whose speed drifts between minutes (a shared host), a ratio from pairs taken
 * side by side is steadier than one pair's. The detailed rows are the median pair's. Transactions
 * per turn are counted with R = 1 only (a backend reports its commits up to 10 s late).
 *
 * PostgreSQL when DATABASE_URL is set (a fresh database, dropped after), else embedded PGlite.
 */
import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import { Agent, request } from "undici";
import { sql } from "drizzle-orm";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { openDatabase, rows } from "../src/db/database";
import { systemClock } from "../src/clock";
import { ConnectionManager } from "../src/connections/connection-manager";
import { Inbox } from "../src/inbox/inbox";
import { Dispatcher } from "../src/inbox/dispatcher";
import { messageHandler } from "../src/inbox/message-handler";
import { createAgentPort } from "../src/agent-port";
import { Outbox } from "../src/outbox/outbox";
import { createWhatsAppChannel } from "../src/channels/whatsapp";
import { createTestDatabase } from "../../test-support/db";
import { explainClaim } from "./claim-explain";
import type { LoadConfig, LoadReady, LoadResult, LoadRun } from "./route-load";

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : def;
};
const USERS = arg("users", 50);
const MESSAGES = arg("messages", 10);
const TURN_MS = arg("turn-ms", 0);
const IDLE_SECONDS = arg("idle-seconds", 0);
const REPEAT = arg("repeat", 1);
const flag = (name: string) => process.argv.includes(`--${name}`);
const APP_SECRET = "bench-app-secret";
const ACCESS_TOKEN = "bench-access-token";
const PHONE_ID = "106540352242922";

/** Starts the load generator (bench/route-load.ts) in a child process; `run` drives one measured run. */
async function startLoad(cfg: LoadConfig): Promise<LoadReady & { run(m: Omit<LoadRun, "type">): Promise<{ lat: number[]; hook?: number[]; rounds?: LoadResult["rounds"]; seconds: number; cpuMs: number }>; stop(): void }> {
  const child = fork(path.join(__dirname, "route-load.ts"), [], {
    // Its own execArgv: a --cpu-prof given to this process profiles the control plane, not the load.
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ROUTE_LOAD_CONFIG: JSON.stringify(cfg) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = () =>
    new Promise<LoadReady | LoadResult>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (m) => {
        child.off("exit", onExit);
        resolve(m as LoadReady | LoadResult);
      });
    });
  const ready = (await next()) as LoadReady;
  return {
    ...ready,
    async run(m) {
      const result = next();
      child.send({ type: "run", ...m } satisfies LoadRun);
      const r = (await result) as LoadResult;
      if (r.error) throw new Error(`load generator: ${r.error}`);
      return r;
    },
    stop: () => child.disconnect(),
  };
}

/**
 * CPU (ms) used so far by this machine's PostgreSQL server processes, from /proc: on a two-core box
 * the database shares the cores with the control plane, so its work per turn is part of the cost.
 * Undefined when PostgreSQL is not a local process (or /proc is not readable).
 */
function postgresCpuMs(): number | undefined {
  let ticks = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      if (!stat.slice(stat.indexOf("(") + 1, close).startsWith("postgres")) continue;
      const f = stat.slice(close + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
      found = true;
    } catch {
      // the process went away between readdir and read
    }
  }
  return found ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  // Users are numbered from 0 (pair k from k * USERS) below the warm-up's 500,000.
  if (!Number.isInteger(REPEAT) || REPEAT < 1 || REPEAT > 20) throw new Error(`--repeat must be a whole number from 1 to 20 (got ${REPEAT})`);
  if (USERS * REPEAT > 400_000) throw new Error(`--users x --repeat must stay within 400,000 (got ${USERS * REPEAT})`);
  const t = await createTestDatabase(process.env.DATABASE_URL ? "postgres" : "pglite");
  if (flag("explain")) {
    process.stdout.write(await explainClaim(t.database, arg("done-rows", 1_000_000)));
    await t.cleanup();
    return;
  }
  const defaults = loadConfig({});
  // The control plane's own pool size (DATABASE_POOL_SIZE default): turns in flight hold none.
  const poolSize = arg("pool", defaults.queue.poolSize);
  const database = t.url ? await openDatabase({ databaseUrl: t.url, dataDir: ":memory:", poolSize }) : t.database;
  const load = await startLoad({ turnMs: TURN_MS, accessToken: ACCESS_TOKEN });
  const agent = { endpoint: load.agentEndpoint };
  // Transactions committed in the bench's own database (PostgreSQL only): one per autocommit
  // statement, so a count of round trips that change or read something.
  // Round trips, counted at the client: every statement the control plane's pool sends.
  const statements = { n: 0 };
  if (t.url) {
    const { Client } = await import("pg");
    const query = Client.prototype.query as (...a: unknown[]) => unknown;
    (Client.prototype as { query: unknown }).query = function (this: unknown, ...a: unknown[]) {
      statements.n++;
      return query.apply(this, a);
    };
  }
  const commits = async (): Promise<number | undefined> => {
    if (!t.url) return undefined;
    const [r] = await rows<{ n: string }>(t.database.db, sql`SELECT pg_stat_clear_snapshot(), (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())::text AS n`);
    return Number(r!.n);
  };
  const graph = { url: load.graphUrl };

  const config = loadConfig({
    WHATSAPP_VERIFY_TOKEN: "bench-verify",
    WHATSAPP_APP_SECRET: APP_SECRET,
    WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
    WHATSAPP_API_BASE_URL: `${graph.url}/v22.0`,
    LOG_LEVEL: "warn",
  });
  const connections = new ConnectionManager({ signingPrivateKeyPem: load.signingPrivateKeyPem, logger, requestTimeoutMs: 30_000 });
  const outbox = new Outbox({ database, logger, leaseMs: defaults.inbox.leaseSeconds * 1000 });
  const sandboxes = { ensure: async (userId: string) => ({ userId, sandboxId: `sbx-${userId}`, endpoint: agent.endpoint, token: `tok-sbx-${userId}` }) };
  const agentPort = createAgentPort({ sandboxes, connections });
  const dispatcher = new Dispatcher({
    database,
    outbox,
    logger,
    concurrency: defaults.inbox.concurrency,
    leaseSeconds: defaults.inbox.leaseSeconds,
    retry: { attempts: defaults.inbox.maxAttempts, baseDelayMs: 2_000, maxDelayMs: 60_000 },
  });
  const inbox = new Inbox({ turns: dispatcher });
  const whatsapp = createWhatsAppChannel({ config, db: database.db, inbox, outbox, logger, clock: systemClock, agent: agentPort });
  outbox.registerAdapter(whatsapp.adapter!);
  // --bare skips the WhatsApp turn (read receipt, typing, splitting) to see what it costs.
  dispatcher.handle("message", process.argv.includes("--bare") ? messageHandler({ agent: agentPort }) : whatsapp.handlers!.message!);
  await outbox.start();
  await dispatcher.start();

  // The floor route: the four unavoidable hops of one turn, back to back.
  await database.db.execute(sql`CREATE TABLE IF NOT EXISTS bench_floor (id serial PRIMARY KEY, v text NOT NULL)`);
  const floorHttp = new Agent();
  const app = express();
  for (const { path, router } of whatsapp.routes ?? []) app.use(path, router);
  app.post("/floor", express.raw({ type: () => true }), async (req, res) => {
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO bench_floor (v) VALUES (${String(req.body?.length ?? 0)})`);
    });
    // One sandbox per user, as on the route (a user's own WebSocket, dialled on their first turn).
    const user = req.get("x-floor-user") ?? "0";
    await connections.request(await sandboxes.ensure(`floor-${/^\d{1,9}$/.test(user) ? user : "0"}`), "status", {});
    // The same HTTP client as the product's Graph client (undici's request on a keep-alive agent).
    const out = await request(`${graph.url}/v22.0/${PHONE_ID}/messages`, {
      method: "POST",
      dispatcher: floorHttp,
      headers: { authorization: `Bearer ${ACCESS_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ messaging_product: "whatsapp", to: "0", type: "text", text: { body: "floor" } }),
      headersTimeout: 20_000,
      bodyTimeout: 20_000,
    });
    await out.body.json();
    res.status(200).end("ok");
  });
  const server = createServer(app);
  // Longer than any pause between one user's messages: a keep-alive socket the server closes just
  // as the client reuses it fails the fetch ("other side closed"), which is not what we measure.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", 4096, () => r())); // 1000 users connect at once
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Also the control plane's CPU per turn (this process only: the load is in the child). Less
  // disturbed than latency by a loaded machine, so the figure to compare across runs.
  const runUsers = async (kind: LoadRun["kind"], userOffset = 0, messages = MESSAGES) => {
    const cpu0 = process.cpuUsage();
    const pg0 = t.url ? postgresCpuMs() : undefined;
    const r = await load.run({ kind, base, users: USERS, messages, appSecret: APP_SECRET, userOffset });
    const cpu = process.cpuUsage(cpu0);
    const pg1 = pg0 !== undefined ? postgresCpuMs() : undefined;
    return {
      ...r,
      cpuMsPerTurn: (cpu.user + cpu.system) / 1000 / r.lat.length,
      postgresMsPerTurn: pg0 !== undefined && pg1 !== undefined ? (pg1 - pg0) / r.lat.length : undefined,
      loadMsPerTurn: r.cpuMs / r.lat.length,
    };
  };

  // Idle load first, with no traffic at all: PostgreSQL flushes a backend's statistics up to 10 s
  // late, so let the set-up's settle, then count over the window.
  let idlePerSecond: number | undefined;
  if (IDLE_SECONDS > 0 && t.url) {
    await new Promise((r) => setTimeout(r, 12_000));
    const a = (await commits())!;
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const b = (await commits())!;
    idlePerSecond = (b - a - 1) / IDLE_SECONDS; // minus our own second sample
  }

  // Warm up both sides alike, 50 users x 40 instant turns each, other users than the measured
  // ones: the JIT of this process and the load generator's, and the pool's connections with their
  // prepared statements, so that floor and route both measure steady state. 250 route turns were
  // enough for the prepared statements, not for the processes: with that and a single floor turn,
  // five pairs measured one after the other (--repeat=5) went from 552 to 1117 floor turns/s and
  // from 228 to 358 route turns/s, and the cold floor flattered the ratio (0.41x first, 0.32x last).
  await runUsers("warm", 0, 40);
  // And the statistics a deployment has after its first minute (autovacuum analyzes a table once
  // enough of it changed, every autovacuum_naptime): on the fresh tables' empty statistics the
  // planner takes a few-hundred-row table for a ten-row one and scans it.
  if (t.url) {
    await database.db.execute(sql`ANALYZE`);
    // The ANALYZE invalidated every connection's cached plans: each re-plans its prepared
    // statements on its next use of them (the webhook's takes 1-3 ms to plan). A deployment does
    // that once per ANALYZE, over minutes of traffic; left here it lands on the measured window's
    // first turns (every pooled connection x 3 statements). 5 more instant turns each re-plan them first.
    await runUsers("warm", 0, 5);
  }
  // The measured runs' rows are the ones created from here on (the warm-up's are not).
  const [{ since } = { since: "-infinity" }] = await rows<{ since: string }>(database.db, sql`SELECT now()::text AS since`);

  type Run = Awaited<ReturnType<typeof runUsers>>;
  const pairs: { floor?: Run; route: Run }[] = [];
  let routeStatements = 0;
  let commitsBefore: number | undefined;
  for (let k = 0; k < REPEAT; k++) {
    // Pair k's users are numbered from k * USERS (the warm-up's from 500,000): new to both sides.
    const floor = flag("no-floor") ? undefined : await runUsers("floor", k * USERS);
    if (REPEAT === 1) commitsBefore = await commits();
    const statementsBefore = statements.n;
    const route = await runUsers("route", k * USERS);
    routeStatements += statements.n - statementsBefore;
    pairs.push({ floor, route });
  }
  // A backend reports its commits up to 10 s late when it goes idle: wait them out.
  if (t.url && commitsBefore !== undefined) await new Promise((r) => setTimeout(r, 11_000));
  const commitsAfter = commitsBefore !== undefined ? await commits() : undefined;
  const ratios = (p: { floor?: Run; route: Run }) => (p.floor ? { throughput: p.floor.seconds / p.route.seconds, p50: pct(p.route.lat, 50) / pct(p.floor.lat, 50) } : undefined);
  // The pair shown in detail: the median one by route/floor throughput (by the route's own without a floor).
  const byRank = [...pairs].sort((a, b) => (ratios(a)?.throughput ?? 1 / a.route.seconds) - (ratios(b)?.throughput ?? 1 / b.route.seconds));
  const shown = byRank[Math.floor((byRank.length - 1) / 2)]!;
  const { floor, route } = shown;
  const median = (xs: number[]) => pct(xs, 50);
  // Where the measured route's time goes, from its rows' own timestamps (database clock, transaction starts).
  const [stages] = await rows<{ inbox_p50: number; inbox_p99: number; send_p50: number; send_p99: number }>(
    database.db,
    sql`SELECT
          (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) FROM inbox_events WHERE created_at >= ${since}::timestamptz) AS inbox_p50,
          (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) * 1000) FROM inbox_events WHERE created_at >= ${since}::timestamptz) AS inbox_p99,
          (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) FROM outbox WHERE created_at >= ${since}::timestamptz) AS send_p50,
          (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at) * 1000) FROM outbox WHERE created_at >= ${since}::timestamptz) AS send_p99`,
  );
  const n = USERS * MESSAGES;
  const perTurn = commitsBefore !== undefined && commitsAfter !== undefined ? (commitsAfter - commitsBefore) / n : undefined;
  const statementsPerTurn = t.url ? routeStatements / (n * REPEAT) : undefined;
  const row = (name: string, r: { lat: number[]; seconds: number; cpuMsPerTurn: number; postgresMsPerTurn?: number; loadMsPerTurn: number }) =>
    `${name.padEnd(34)} ${String(n).padStart(6)} ${(n / r.seconds).toFixed(0).padStart(10)}/s ${ms(pct(r.lat, 50)).padStart(11)} ${ms(pct(r.lat, 99)).padStart(11)} ${ms(r.cpuMsPerTurn).padStart(10)}` +
    ` ${(r.postgresMsPerTurn !== undefined ? ms(r.postgresMsPerTurn) : "-").padStart(10)} ${ms(r.loadMsPerTurn).padStart(10)}`;
  process.stdout.write(
    [
      "",
      `route bench: ${USERS} users x ${MESSAGES} messages, ${database.driver}, ${TURN_MS > 0 ? `${TURN_MS} ms` : "instant"} fake agent, local Graph API, INBOX_CONCURRENCY=${defaults.inbox.concurrency}, pool ${poolSize}`,
      `${"".padEnd(34)} ${"turns".padStart(6)} ${"throughput".padStart(12)} ${"p50".padStart(11)} ${"p99".padStart(11)} ${"CPU/turn".padStart(10)} ${"PG/turn".padStart(10)} ${"load/turn".padStart(10)}`,
      "CPU/turn: this process (the control plane); PG/turn: the local PostgreSQL server's processes; load/turn: the load generator (users, fake agent, Graph API)",
      ...(floor ? [row("floor (HTTP in, commit, WS, HTTP out)", floor)] : []),
      row("route (webhook -> reply sent)", route),
      ...(route.hook?.length ? [`  webhook answered (stored): p50 ${ms(pct(route.hook, 50))}, p99 ${ms(pct(route.hook, 99))}`] : []),
      // Each user's first message is a first contact (the measured users are new); with few
      // messages per user, where each round's time goes.
      ...(MESSAGES <= 5
        ? (route.rounds ?? []).map(
            (r, i) => `  message ${i + 1} of each user: webhook answered p50 ${ms(pct(r.hook, 50))}, max ${ms(pct(r.hook, 100))}; reply p50 ${ms(pct(r.lat, 50))}, max ${ms(pct(r.lat, 100))}`,
          )
        : []),
      `  of which inbox row -> turn done: p50 ${ms(Number(stages!.inbox_p50))}, p99 ${ms(Number(stages!.inbox_p99))}; outbox row -> sent: p50 ${ms(Number(stages!.send_p50))}, p99 ${ms(Number(stages!.send_p99))}`,
      ...(floor
        ? [
            `added by routing: p50 ${ms(pct(route.lat, 50) - pct(floor.lat, 50))}, p99 ${ms(pct(route.lat, 99) - pct(floor.lat, 99))}; ` +
              `route/floor: p50 ${ratios(shown)!.p50.toFixed(2)}x, throughput ${ratios(shown)!.throughput.toFixed(2)}x`,
          ]
        : []),
      ...(REPEAT > 1
        ? [
            `${REPEAT} pairs, floor then route (the rows above are the median pair's):`,
            ...pairs.map((p, k) => {
              const r = ratios(p);
              return (
                `  pair ${k + 1}: ${p.floor ? `floor ${(n / p.floor.seconds).toFixed(0)}/s p50 ${ms(pct(p.floor.lat, 50))}, ` : ""}route ${(n / p.route.seconds).toFixed(0)}/s p50 ${ms(pct(p.route.lat, 50))} p99 ${ms(pct(p.route.lat, 99))}` +
                (r ? `; route/floor throughput ${r.throughput.toFixed(2)}x, p50 ${r.p50.toFixed(2)}x` : "")
              );
            }),
            `  median: route ${median(pairs.map((p) => n / p.route.seconds)).toFixed(0)}/s, p50 ${ms(median(pairs.map((p) => pct(p.route.lat, 50))))}` +
              (floor
                ? `; route/floor throughput ${median(pairs.map((p) => ratios(p)!.throughput)).toFixed(2)}x, p50 ${median(pairs.map((p) => ratios(p)!.p50)).toFixed(2)}x`
                : ""),
          ]
        : []),
      ...(perTurn !== undefined ? [`database transactions per turn (whole route, webhook included): ${perTurn.toFixed(2)}`] : []),
      ...(statementsPerTurn !== undefined ? [`database round trips per turn (statements the control plane sent, BEGIN/COMMIT included): ${statementsPerTurn.toFixed(2)}`] : []),
      ...(idlePerSecond !== undefined ? [`idle: ${idlePerSecond.toFixed(2)} transactions/s over ${IDLE_SECONDS} s with no traffic`] : []),
      "",
    ].join("\n"),
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: "route",
      driver: database.driver,
      users: USERS,
      messages: MESSAGES,
      turnMs: TURN_MS,
      floor: floor ? { perSecond: n / floor.seconds, p50: pct(floor.lat, 50), p99: pct(floor.lat, 99), cpuMsPerTurn: floor.cpuMsPerTurn, postgresMsPerTurn: floor.postgresMsPerTurn ?? null } : null,
      transactionsPerTurn: perTurn ?? null,
      statementsPerTurn: statementsPerTurn ?? null,
      idleTransactionsPerSecond: idlePerSecond ?? null,
      route: { perSecond: n / route.seconds, p50: pct(route.lat, 50), p99: pct(route.lat, 99), cpuMsPerTurn: route.cpuMsPerTurn, postgresMsPerTurn: route.postgresMsPerTurn ?? null },
      pairs: pairs.map((p) => ({
        floor: p.floor ? { perSecond: n / p.floor.seconds, p50: pct(p.floor.lat, 50) } : null,
        route: { perSecond: n / p.route.seconds, p50: pct(p.route.lat, 50), p99: pct(p.route.lat, 99) },
        ratios: ratios(p) ?? null,
      })),
    })}\n`,
  );

  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await dispatcher.stop();
  await outbox.stop();
  await connections.closeAll();
  load.stop();
  if (database !== t.database) await database.close();
  await t.cleanup();
}

main().catch((err) => {
  process.stderr.write(`route bench failed: ${err instanceof Error ? err.stack : String(err)}${(err as { cause?: unknown })?.cause ? `\ncause: ${String((err as { cause?: unknown }).cause)}` : ""}\n`);
  process.exit(1);
});
