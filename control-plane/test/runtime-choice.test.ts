import { loadConfig } from "../src/config";
import { createLogger } from "../src/logger";
import { chooseRuntime } from "../src/sandboxes/runtime-choice";
import { describeDocker } from "../../test-support/docker";

const logger = createLogger({ level: "silent" });
const choose = (env: NodeJS.ProcessEnv) => chooseRuntime(loadConfig({ DATA_DIR: ":memory:", ...env }), logger, { instanceId: "runtime-choice-test" });

describe("sandbox runtime choice", () => {
  it("obeys SANDBOX_RUNTIME", async () => {
    expect((await choose({ SANDBOX_RUNTIME: "process" })).runtime.kind).toBe("process");
    expect((await choose({ SANDBOX_RUNTIME: "docker" })).runtime.kind).toBe("docker");
  });
});

describeDocker("sandbox runtime choice with a Docker daemon", () => {
  it("runs processes, and says why, when the daemon has no agent image", async () => {
    const { runtime, reason } = await choose({ SANDBOX_IMAGE: "concierge-agent:no-such-tag-for-tests" });
    expect(runtime.kind).toBe("process");
    expect(reason).toContain("npm run sandbox:image");
  });

  it("uses Docker when the daemon has the agent image", async () => {
    const { runtime, reason } = await choose({});
    expect(runtime.kind).toBe("docker");
    expect(reason).toBe("a Docker daemon answers");
  });
});
