import { execFileSync } from "node:child_process";
import { describeNeeding } from "./describe-needing";

/** True when a Docker daemon answers. With REQUIRE_DOCKER=1 a missing daemon is a failure, not a skip. */
export function dockerAvailable(): boolean {
  if (process.env.TEST_DOCKER_AVAILABLE === "1") return true;
  if (process.env.TEST_DOCKER_AVAILABLE === "0") return false;
  try {
    execFileSync("docker", ["info"], { stdio: "pipe", timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for tests that need a real Docker daemon: skipped (loudly, by name) when none answers,
 * failing when REQUIRE_DOCKER=1.
 */
export function describeDocker(name: string, fn: () => void): void {
  describeNeeding(
    {
      available: dockerAvailable(),
      required: process.env.REQUIRE_DOCKER === "1",
      failTitle: "needs a Docker daemon (REQUIRE_DOCKER=1)",
      failMessage: "REQUIRE_DOCKER=1 but no Docker daemon answers",
      skipReason: "no Docker daemon",
      skipTag: "needs Docker",
    },
    name,
    fn,
  );
}

/** A label value unique to this test process; every container a test makes carries it. */
export const TEST_RUN_ID = `t${process.pid}-${Date.now().toString(36)}`;
