import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { AGENT_PORT, generateSigningKeyPair } from "@concierge/protocol";
import { AgentClient, type AgentCredentials } from "../../test-support/agent-client";
import { TEST_RUN_ID } from "../../test-support/docker";

const run = promisify(execFile);
export const IMAGE = process.env.SANDBOX_IMAGE ?? "concierge-agent:latest";
export const LABEL = `concierge.test-run=${TEST_RUN_ID}`;
const repoRoot = path.resolve(__dirname, "../..");

/** The docker CLI; secrets travel in `env` (named by -e NAME), never in argv. */
export async function docker(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run("docker", args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** npm run sandbox:image: a no-op when the image is current (CI builds it before the tests). */
export async function buildImage(): Promise<void> {
  await run("bash", [path.join(repoRoot, "sandbox-image/build-image.sh")], { cwd: repoRoot, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
}

/** The hardening flags DESIGN.md requires of every sandbox. */
export const HARDENING = [
  "--read-only",
  "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
  "--cap-drop", "ALL",
  "--security-opt", "no-new-privileges",
  "--user", "10001:10001",
  "--memory", "256m",
  "--pids-limit", "128",
  "--cpus", "0.5",
];

/** A labelled private bridge network and volume; everything is removed by cleanup(). */
export class TestSandboxSite {
  readonly suffix = randomBytes(4).toString("hex");
  readonly network = `concierge-test-net-${this.suffix}`;
  readonly volume = `concierge-test-vol-${this.suffix}`;
  readonly containers: string[] = [];
  readonly keys = generateSigningKeyPair();
  readonly creds: AgentCredentials = {
    sandboxId: `sbx-${this.suffix}`,
    token: `sbx_${randomBytes(24).toString("base64url")}`,
    privateKeyPem: this.keys.privateKeyPem,
  };

  async create(): Promise<void> {
    await docker(["network", "create", "--label", LABEL, this.network]);
    await docker(["volume", "create", "--label", LABEL, this.volume]);
  }

  /** The host's own address on the test bridge: what a container dials to reach the host. */
  async gatewayIp(): Promise<string> {
    return docker(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", this.network]);
  }

  /** Starts the agent hardened, on the test network, no published ports; returns its bridge IP. */
  async startAgent(extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<{ name: string; ip: string }> {
    const name = `concierge-test-agent-${this.suffix}-${this.containers.length}`;
    const env: Record<string, string> = {
      SANDBOX_ID: this.creds.sandboxId,
      SANDBOX_TOKEN: this.creds.token,
      CONTROL_PLANE_PUBLIC_KEY: Buffer.from(this.keys.publicKeyPem).toString("base64"),
      ...extraEnv,
    };
    const envArgs = Object.keys(env).flatMap((k) => ["-e", k]);
    this.containers.push(name);
    await docker(["run", "-d", "--name", name, "--label", LABEL, "--network", this.network, ...HARDENING, "-v", `${this.volume}:/data`, ...envArgs, ...extraArgs, IMAGE], env);
    return { name, ip: await this.ip(name) };
  }

  async ip(name: string): Promise<string> {
    return docker(["inspect", "-f", `{{(index .NetworkSettings.Networks "${this.network}").IPAddress}}`, name]);
  }

  /** Connects as the control plane would, retrying (bounded) while the agent boots. */
  async connect(ip: string, timeoutMs = 30_000): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (let attempt = 0; attempt < 200 && Date.now() < deadline; attempt++) {
      try {
        return await AgentClient.connect(`ws://${ip}:${AGENT_PORT}`, this.creds, 3_000);
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`agent at ${ip} did not accept a handshake within ${timeoutMs} ms: ${String(last)}`);
  }

  async cleanup(): Promise<void> {
    for (const name of this.containers) await docker(["rm", "-f", name]).catch(() => undefined);
    await docker(["volume", "rm", "-f", this.volume]).catch(() => undefined);
    await docker(["network", "rm", this.network]).catch(() => undefined);
  }
}
