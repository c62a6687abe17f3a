import { loadConfig, type Config } from "../control-plane/src/config";
import { createLogger } from "../control-plane/src/logger";
import { startControlPlane, type ControlPlane } from "../control-plane/src/main";

type Env = Record<string, string | undefined>;

/**
 * The configuration of a control plane under test, read by the real loadConfig: any free port on
 * loopback, no logs, child-process sandboxes (the shared Docker daemon stays untouched), an
 * in-memory database. `env` adds to it or overrides it.
 */
export function testConfig(env: Env = {}): Config {
  return loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: ":memory:", LOG_LEVEL: "silent", SANDBOX_RUNTIME: "process", ...env });
}

/** The control plane as main() starts it, on testConfig(env); TEST_LOG_LEVEL=debug shows its log. */
export function startTestControlPlane(env: Env = {}): Promise<ControlPlane> {
  return startControlPlane(testConfig(env), { logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) });
}
