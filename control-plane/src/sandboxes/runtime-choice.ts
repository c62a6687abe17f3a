import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { DockerRuntime, dockerAnswers } from "./docker-runtime";
import { ProcessRuntime } from "./process-runtime";
import type { SandboxRuntime } from "./runtime";

/** The agent's compiled entry in this checkout: what the process runtime runs. */
export const AGENT_ENTRY = path.resolve(__dirname, "../../../sandbox-image/dist/main.js");

/**
 * SANDBOX_RUNTIME when set; otherwise Docker when a daemon answers a ping within a short time, and
 * the process runtime when none does (a laptop without Docker still runs every user's agent).
 */
export async function chooseRuntime(
  config: Config,
  logger: Logger,
  opts: { instanceId: string; docker?: Dockerode; pingTimeoutMs?: number },
): Promise<{ runtime: SandboxRuntime; reason: string }> {
  const docker = opts.docker ?? new Dockerode();
  const makeDocker = () => new DockerRuntime({ docker, network: config.sandbox.network, logger, instanceId: opts.instanceId });
  // DATA_DIR=":memory:" keeps nothing: process sandboxes then live in a fresh temp directory.
  const makeProcess = () =>
    new ProcessRuntime({ dataDir: config.dataDir === ":memory:" ? mkdtempSync(path.join(tmpdir(), "concierge-")) : config.dataDir, agentEntry: AGENT_ENTRY, logger, searchPath: config.sandbox.searchPath });
  if (config.sandbox.runtime === "docker") return { runtime: makeDocker(), reason: "SANDBOX_RUNTIME=docker" };
  if (config.sandbox.runtime === "process") return { runtime: makeProcess(), reason: "SANDBOX_RUNTIME=process" };
  if (!(await dockerAnswers(docker, opts.pingTimeoutMs ?? 1500))) return { runtime: makeProcess(), reason: "no Docker daemon answers" };
  // A daemon without the agent image could not start a single sandbox: run processes instead and
  // say how to get the image, rather than failing every user's first message.
  const hasImage = await docker
    .getImage(config.sandbox.image)
    .inspect()
    .then(() => true, () => false);
  if (!hasImage) {
    return {
      runtime: makeProcess(),
      reason: `a Docker daemon answers but has no ${config.sandbox.image} image (build it with \`npm run sandbox:image\`)`,
    };
  }
  return { runtime: makeDocker(), reason: "a Docker daemon answers" };
}
