/**
 * The real control plane as a child process, configured from its environment exactly as
 * `npm start` is (loadConfig(process.env) -> startControlPlane), for tests that SIGKILL it.
 * Prints "ready <url>" once it accepts requests.
 *
 *   node --import tsx test-support/control-plane-child.ts
 */
import { loadConfig } from "../control-plane/src/config";
import { startControlPlane } from "../control-plane/src/main";

async function main(): Promise<void> {
  const cp = await startControlPlane(loadConfig(process.env));
  process.stdout.write(`ready ${cp.url}\n`);
  process.on("SIGTERM", () => void cp.stop().then(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(`control-plane-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
