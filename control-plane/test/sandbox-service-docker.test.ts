import { execFileSync } from "node:child_process";
import { describeDocker } from "../../test-support/docker";
import { ensureAgentImage, TEST_AGENT_IMAGE } from "../../test-support/sandbox-harness";
import { sandboxServiceSuite, upgradeImage } from "../../test-support/sandbox-service-suite";

describeDocker("SandboxService on the Docker runtime", () => {
  beforeAll(() => {
    ensureAgentImage();
    // The "upgraded" image: a second tag of the same build, as a new release would be.
    execFileSync("docker", ["tag", TEST_AGENT_IMAGE, upgradeImage()], { stdio: "pipe" });
  }, 600_000);
  afterAll(() => {
    try {
      execFileSync("docker", ["rmi", upgradeImage()], { stdio: "pipe" });
    } catch {
      /* a container of this run may still hold it until cleanup */
    }
  });
  sandboxServiceSuite("docker");
});
