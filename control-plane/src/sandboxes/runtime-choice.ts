import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import type { Config } from "../config";
import type { Logger } from "../logger";
import { DockerRuntime, dockerAnswers } from "./docker-runtime";
import { ProcessRuntime } from "./process-runtime";
import { selfContainer } from "./self-container";
import type { SandboxRuntime } from "./runtime";
import { and, isNotNull, ne, sql } from "drizzle-orm";
import type { Db } from "../db/database";
import { StartRefusedError } from "../errors";
import { sandboxes } from "../db/schema";
import { loadKubeClient } from "./kube-client";
import { KubernetesRuntime } from "./kubernetes-runtime";

/** The agent's compiled entry in this checkout: what the process runtime runs. */
export const AGENT_ENTRY = path.resolve(__dirname, "../../../sandbox-image/dist/main.js");

/** Why the control plane will not start: no runtime it may use can isolate the user's agent. */
export class RuntimeUnavailableError extends StartRefusedError {}

/** Sandboxes whose rows say they run in Docker (the process runtime's rows carry image "process"). */
export async function countDockerSandboxes(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(sandboxes)
    .where(and(ne(sandboxes.state, "deleted"), isNotNull(sandboxes.image), ne(sandboxes.image, "process")));
  return Number(row?.n ?? 0);
}

/**
 * SANDBOX_RUNTIME when set. Unset, Docker when sandboxes already run in it (even while its daemon
 * is briefly down: they wait for it) or when a daemon answers with the agent image; the
 * unisolated process runtime only on a machine where no daemon answers and no sandbox ever ran in
 * Docker (a laptop's first `npm start`), and the reason says so. A daemon that answers without
 * the image refuses to start rather than quietly running agents unisolated (issue 15, item 8).
 */
export async function chooseRuntime(
  config: Config,
  logger: Logger,
  opts: { instanceId: string; docker?: Dockerode; pingTimeoutMs?: number; db?: Db },
): Promise<{ runtime: SandboxRuntime; reason: string; scratchDir?: string }> {
  const docker = opts.docker ?? new Dockerode();
  const makeDocker = () =>
    new DockerRuntime({ docker, network: config.sandbox.network, logger, instanceId: opts.instanceId, selfContainer: selfContainer(config.sandbox.selfContainer) });
  // DATA_DIR=":memory:" keeps nothing: process sandboxes then live in a fresh temp directory, which
  // the caller removes when it stops (scratchDir).
  const makeProcess = (reason: string) => {
    const scratchDir = config.dataDir === ":memory:" ? mkdtempSync(path.join(tmpdir(), "concierge-")) : undefined;
    const runtime = new ProcessRuntime({ dataDir: scratchDir ?? config.dataDir, agentEntry: AGENT_ENTRY, logger, searchPath: config.sandbox.searchPath });
    return { runtime, reason, ...(scratchDir ? { scratchDir } : {}) };
  };
  if (config.sandbox.runtime === "process") return makeProcess("SANDBOX_RUNTIME=process");
  if (config.sandbox.runtime === "kubernetes") {
    return { runtime: await kubernetesRuntime(config, logger, opts.instanceId), reason: `SANDBOX_RUNTIME=kubernetes (${config.kube.kubeconfig ? "KUBECONFIG" : "in-cluster config"})` };
  }
  const answers = await dockerAnswers(docker, opts.pingTimeoutMs ?? 1500);
  if (config.sandbox.runtime === "docker") {
    if (!answers) logger.warn("SANDBOX_RUNTIME=docker but the Docker daemon does not answer: sandboxes wait for it");
    return { runtime: makeDocker(), reason: answers ? "SANDBOX_RUNTIME=docker" : "SANDBOX_RUNTIME=docker (the daemon does not answer yet; sandboxes wait for it)" };
  }
  const inDocker = opts.db ? await countDockerSandboxes(opts.db) : 0;
  if (inDocker > 0) {
    if (!answers) logger.warn({ sandboxes: inDocker }, "sandboxes run in Docker but the daemon does not answer: they wait for it");
    return {
      runtime: makeDocker(),
      reason: answers
        ? "a Docker daemon answers"
        : `${inDocker} sandbox(es) run in Docker and the daemon does not answer yet: they wait for it (never moved to unisolated processes)`,
    };
  }
  if (!answers) return makeProcess("no Docker daemon answers and no sandbox ever ran in Docker here: agents run as local processes, not isolated from this machine");
  const hasImage = await docker
    .getImage(config.sandbox.image)
    .inspect()
    .then(() => true, () => false);
  if (!hasImage) {
    throw new RuntimeUnavailableError(
      `A Docker daemon answers but has no ${config.sandbox.image} image. Build it with \`npm run sandbox:image\`, ` +
        "or set SANDBOX_RUNTIME=process to run agents as local processes without isolation.",
    );
  }
  return { runtime: makeDocker(), reason: "a Docker daemon answers" };
}

/** KUBECONFIG when set, else the pod's service account (in-cluster); never ~/.kube/config by surprise. */
export async function kubernetesRuntime(config: Config, logger: Logger, instanceId: string): Promise<KubernetesRuntime> {
  const k8s = await loadKubeClient();
  const kubeConfig = new k8s.KubeConfig();
  if (config.kube.kubeconfig) kubeConfig.loadFromFile(config.kube.kubeconfig);
  else kubeConfig.loadFromCluster();
  if (!config.sandbox.gatewayUrl) throw new Error("SANDBOX_GATEWAY_URL is required with SANDBOX_RUNTIME=kubernetes");
  return new KubernetesRuntime({
    kubeConfig,
    cluster: {
      namespace: config.kube.namespace,
      controlPlane: {
        namespace: config.kube.controlPlaneNamespace,
        podLabels: config.kube.controlPlaneLabels,
        // Policies see the pod's port after the Service's translation: the sandbox listener's
        // (SANDBOX_LISTEN_PORT, default PORT+1), the only one serving /llm/v1.
        gatewayPort: config.sandbox.listenPort || 3002,
      },
      storage: { size: config.kube.storageSize, className: config.kube.storageClass },
    },
    gatewayUrl: config.sandbox.gatewayUrl,
    logger,
    instanceId,
  });
}
