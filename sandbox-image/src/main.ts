import path from "node:path";
import { AgentEnv } from "@concierge/protocol";
import pino, { type Logger } from "pino";
import { createAgent, type Agent } from "./agent";
import { compactHeap } from "./compact-heap";
import { AgentEnvError, parseAgentEnv, type AgentConfig } from "./env";
import { EventStream, GatewayServer } from "./gateway";
import { AGENT_VERSION } from "./version";

/**
 * The agent process: what both runtimes start (`node sandbox-image/dist/main.js` as a child process,
 * and the container's CMD). The only place that reads process.env. Starts the agent, then the
 * gateway in front of it; SIGTERM stops them in reverse.
 */

/** Secrets are censored by the logger's configuration, wherever they appear in a log object. */
const REDACT = ["token", "apiKey", "SANDBOX_TOKEN", "authorization", "signature"].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createAgentLogger(config: Pick<AgentConfig, "logLevel" | "sandboxId">): Logger {
  return pino({
    level: config.logLevel,
    base: { service: "agent", sandboxId: config.sandboxId },
    redact: { paths: REDACT, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * How long the gateway must be quiet before the heap is compacted: well under the control plane's
 * freeze delay (minutes), so a frozen sandbox keeps the small heap, and longer than the gaps inside
 * one exchange (a turn's request, its events, a follow-up status), so a busy agent does not pay
 * for it between requests.
 */
export const COMPACT_WHEN_IDLE_MS = 2_000;

export interface RunningAgent {
  gateway: GatewayServer;
  agent: Agent;
  stop(): Promise<void>;
}

export async function startAgentProcess(config: AgentConfig, logger: Logger, startedFrom: "script" | "snapshot" = "script"): Promise<RunningAgent> {
  const version = AGENT_VERSION;
  // 1. The event stream first: the agent may emit (alarm.set) while it boots, before anyone connects.
  const events = new EventStream(logger.child({ component: "events" }));
  // 2. The agent: database, workspace, brain.
  const agent = await createAgent({
    dataDir: config.dataDir,
    templatesDir: config.templatesDir,
    timezone: config.timezone,
    userName: config.userName,
    llm: config.llm,
    logger,
    emit: (event, payload) => events.emit(event, payload),
  });
  // 3. The gateway last: nothing is accepted before the agent behind it is ready.
  let gateway: GatewayServer;
  try {
    gateway = await GatewayServer.start({
      identity: { sandboxId: config.sandboxId, token: config.token, controlPlanePublicKey: config.controlPlanePublicKey },
      agent,
      events,
      agentVersion: version,
      logger,
      host: config.host,
      port: config.port,
      whenIdle: {
        afterMs: COMPACT_WHEN_IDLE_MS,
        run: () => {
          const started = performance.now();
          if (compactHeap()) logger.debug({ ms: Math.round(performance.now() - started) }, "idle: heap compacted");
        },
      },
    });
  } catch (err) {
    agent.close();
    throw err;
  }
  logger.info(
    { version, startedFrom, port: gateway.port, dataDir: config.dataDir, timezone: config.timezone, llm: config.llm ? { baseURL: config.llm.baseURL, model: config.llm.model } : "offline" },
    "agent process ready",
  );
  return {
    gateway,
    agent,
    async stop() {
      await gateway.close();
      agent.close();
    },
  };
}

/**
 * The process: read the environment, start, stop on SIGTERM. Run when this file is the main module,
 * or by the image's startup snapshot after deserialization (sandbox-image/snapshot.js), which says
 * so in `startedFrom` for the ready line.
 */
export async function main(o: { startedFrom?: "script" | "snapshot" } = {}): Promise<void> {
  let config: AgentConfig;
  try {
    config = parseAgentEnv(process.env, { templatesDir: path.resolve(__dirname, "../../workspace-templates") });
  } catch (err) {
    const problems = err instanceof AgentEnvError ? err.problems : [String(err)];
    process.stderr.write(`agent: cannot start: ${problems.join("; ")}\n`);
    process.exit(1);
  }
  const logger = createAgentLogger(config);
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception");
    process.exit(1);
  });

  let running: RunningAgent;
  try {
    running = await startAgentProcess(config, logger, o.startedFrom ?? "script");
  } catch (err) {
    logger.fatal({ err }, "agent failed to start");
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    running
      .stop()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, "error while stopping");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Started by a control plane's process runtime: its pipe closes when it dies, even by SIGKILL.
  if (process.env[AgentEnv.exitWithStdin] === "1") {
    process.stdin.on("end", () => stop("stdin closed")).on("error", () => stop("stdin closed"));
    process.stdin.resume();
  }
}

if (require.main === module) void main();
