import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { sandboxes, users } from "../src/db/schema";
import { chooseRuntime, RuntimeUnavailableError } from "../src/sandboxes/runtime-choice";
import { describeDocker } from "../../test-support/docker";
import { createTestDatabase, type TestDatabase } from "../../test-support/db";
import { startFakeCluster } from "../../test-support/fake-cluster";

const logger = createLogger({ level: "silent" });
/** The choice with DATA_DIR=":memory:"; a process runtime's temp directory is removed at once (main.ts does that at stop). */
const choose = async (env: NodeJS.ProcessEnv, opts: { docker?: Dockerode; db?: TestDatabase } = {}) => {
  const chosen = await chooseRuntime(loadConfig({ DATA_DIR: ":memory:", ...env }), logger, { instanceId: "runtime-choice-test", docker: opts.docker, db: opts.db?.database.db, pingTimeoutMs: 500 });
  if (chosen.scratchDir) rmSync(chosen.scratchDir, { recursive: true, force: true });
  return chosen;
};
/** A Docker client whose daemon is away (a socket nobody listens on): Docker "briefly down". */
const absentDocker = () => new Dockerode({ socketPath: "/tmp/concierge-no-such-docker.sock" });

describe("sandbox runtime choice", () => {
  it("obeys SANDBOX_RUNTIME", async () => {
    const processes = await choose({ SANDBOX_RUNTIME: "process" });
    expect(processes.runtime.kind).toBe("process");
    // DATA_DIR=":memory:" keeps nothing: the agents' directories live in a temp directory of their own.
    expect(processes.scratchDir?.startsWith(path.join(tmpdir(), "concierge-"))).toBe(true);
    const docker = await choose({ SANDBOX_RUNTIME: "docker" });
    expect(docker.runtime.kind).toBe("docker");
    expect(docker.scratchDir).toBeUndefined();
  });

  it("builds the Kubernetes runtime from KUBECONFIG, and needs the gateway Service's URL", async () => {
    const cluster = await startFakeCluster();
    try {
      const env = { SANDBOX_RUNTIME: "kubernetes", KUBECONFIG: cluster.kubeconfigFile, SANDBOX_GATEWAY_URL: "http://concierge-llm-gateway.concierge.svc:3002/llm/v1" };
      const { runtime, reason } = await choose(env);
      expect(runtime.kind).toBe("kubernetes");
      expect(reason).toBe("SANDBOX_RUNTIME=kubernetes (KUBECONFIG)");
      // It talks to the cluster KUBECONFIG names: an empty namespace lists nothing, through the API.
      expect(await runtime.list()).toEqual([]);
      expect(cluster.api.requests.some((r) => r.path === "/api/v1/namespaces/concierge-sandboxes/secrets")).toBe(true);
      expect(await runtime.gatewayUrl({ port: 3001 })).toBe(env.SANDBOX_GATEWAY_URL);
      expect(() => loadConfig({ SANDBOX_RUNTIME: "kubernetes" })).toThrow(/SANDBOX_GATEWAY_URL: required when SANDBOX_RUNTIME=kubernetes/);
    } finally {
      await cluster.close();
    }
  });
});

describe("audit 15.8: the runtime silently falls back to the unisolated process runtime", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("keeps Docker when SANDBOX_RUNTIME=docker and the daemon is down, and says so", async () => {
    const { runtime, reason } = await choose({ SANDBOX_RUNTIME: "docker" }, { docker: absentDocker() });
    expect(runtime.kind).toBe("docker");
    expect(reason).toContain("does not answer");
  });

  it("keeps Docker when sandboxes already run in it and the daemon is briefly down", async () => {
    const [u] = await t.database.db.insert(users).values({ name: "Ada" }).returning();
    await t.database.db.insert(sandboxes).values({ userId: u!.id, state: "stopped", image: "concierge-agent:latest" });
    const { runtime, reason } = await choose({}, { docker: absentDocker(), db: t });
    expect(runtime.kind).toBe("docker");
    expect(reason).toMatch(/run in Docker .*never moved to unisolated processes/);
  });

  it("runs processes on a machine that never had Docker, and says they are not isolated", async () => {
    const fresh = await createTestDatabase();
    try {
      const { runtime, reason } = await choose({}, { docker: absentDocker(), db: fresh });
      expect(runtime.kind).toBe("process");
      expect(reason).toContain("not isolated");
    } finally {
      await fresh.cleanup();
    }
  });
});

describeDocker("sandbox runtime choice with a Docker daemon", () => {
  it("audit 15.8: refuses to start, saying how to fix it, when the daemon has no agent image", async () => {
    const err = await choose({ SANDBOX_IMAGE: "concierge-agent:no-such-tag-for-tests" }).catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeUnavailableError);
    expect(err.message).toContain("npm run sandbox:image");
    expect(err.message).toContain("SANDBOX_RUNTIME=process");
  });

  it("uses Docker when the daemon has the agent image", async () => {
    const { runtime, reason } = await choose({});
    expect(runtime.kind).toBe("docker");
    expect(reason).toBe("a Docker daemon answers");
  });
});
