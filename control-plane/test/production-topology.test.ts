import { execFile, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import Dockerode from "dockerode";
import { describeDocker, TEST_RUN_ID } from "../../test-support/docker";
import { FakeGraphApi } from "../../test-support/fake-graph-api";
import { sign, textWebhook } from "../../test-support/meta-samples";
import { ensureAgentImage, TEST_AGENT_IMAGE } from "../../test-support/sandbox-harness";
import { LABEL } from "../src/sandboxes/container-spec";
import { ICC_OPTION } from "../src/sandboxes/docker-runtime";
import { ACCESS_TOKEN, APP_SECRET, PHONE_ID, VERIFY_TOKEN, waitFor } from "./whatsapp-harness";

/**
 * The production topology of docker-compose.yml, for real: the control plane runs AS A CONTAINER
 * from its own image (built offline by `npm run control-plane:image`), in the host's network
 * namespace with the Docker socket mounted, as the compose file runs it, and creates each user's
 * sandbox on an internal network with inter-container traffic off.
 *
 * Stand-ins, because their images cannot be pulled here: PostgreSQL is the embedded PGlite in the
 * control plane's data volume (DATABASE_URL unset), and Caddy is absent (the test calls the main
 * listener on 127.0.0.1, where compose's Caddy would). Meta is the local fake Graph API on loopback,
 * which the control plane shares with the host.
 */
const run = promisify(execFile);
const IMAGE = process.env.CONTROL_PLANE_IMAGE ?? "concierge-control-plane:latest";
const ROOT = path.resolve(__dirname, "../..");
const ADMIN_TOKEN = "admin-token-for-the-topology-test";
const network = `concierge-test-topo-${TEST_RUN_ID}`;
const cpName = `concierge-test-cp-${TEST_RUN_ID}`;
const dataVolume = `concierge-test-cpdata-${TEST_RUN_ID}`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Each URL from inside a container: its HTTP status, or why it could not connect (bounded to 3 s each). */
async function probeFrom(container: string, urls: string[]): Promise<(number | string)[]> {
  const script = `Promise.all(JSON.parse(process.argv[1]).map((u) => fetch(u, { signal: AbortSignal.timeout(3000) }).then((r) => r.status, (e) => "no connection: " + (e.cause?.code ?? e.name)))).then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); })`;
  const { stdout } = await run("docker", ["exec", container, "node", "-e", script, JSON.stringify(urls)], { timeout: 20_000 });
  return JSON.parse(stdout);
}

describeDocker("production topology: the control plane as a container, sandboxes isolated", () => {
  const docker = new Dockerode();
  let fake: FakeGraphApi;
  let port: number;
  let sandboxPort: number;
  let url: string;
  const admin = (p: string, init: RequestInit = {}) => fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" } });

  beforeAll(async () => {
    ensureAgentImage();
    execFileSync("bash", [path.join(ROOT, "control-plane/image/build-image.sh")], { stdio: "pipe", timeout: 600_000, env: { ...process.env, CONTROL_PLANE_IMAGE: IMAGE } });
    fake = await new FakeGraphApi({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_ID }).start();
    [port, sandboxPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    await run("docker", ["volume", "create", "--label", `${LABEL.testRun}=${TEST_RUN_ID}`, dataVolume]);
    const env = {
      HOST: "127.0.0.1", // the main listener: loopback only, where compose's Caddy reaches it
      PORT: String(port),
      SANDBOX_LISTEN_PORT: String(sandboxPort),
      SANDBOX_RUNTIME: "docker",
      SANDBOX_NETWORK: network,
      SANDBOX_IMAGE: TEST_AGENT_IMAGE,
      DATA_DIR: "/var/lib/concierge",
      ADMIN_TOKEN,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_ID,
      WHATSAPP_API_BASE_URL: fake.baseUrl,
      LOG_LEVEL: "info",
    };
    // As docker-compose.yml runs it: host network namespace, the Docker socket, a data volume.
    await run("docker", [
      "run", "-d", "--name", cpName, "--label", `${LABEL.testRun}=${TEST_RUN_ID}`, "--network", "host",
      "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", `${dataVolume}:/var/lib/concierge`,
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      IMAGE,
    ]);
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok, 90_000, "the control plane container to be ready").catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${(await run("docker", ["logs", cpName]).catch(() => ({ stdout: "", stderr: "" }))).stderr}`);
    });
  }, 900_000);

  afterAll(async () => {
    try {
      // The sandboxes the containerized control plane made: everything on its network, and their volumes.
      for (const c of await docker.listContainers({ all: true, filters: { network: [network] } })) {
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
        for (const m of c.Mounts ?? []) if (m.Type === "volume" && m.Name) await docker.getVolume(m.Name).remove().catch(() => undefined);
      }
    } finally {
      await docker.getContainer(cpName).remove({ force: true }).catch(() => undefined);
      await docker.getVolume(dataVolume).remove().catch(() => undefined);
      await docker.getNetwork(network).remove().catch(() => undefined);
      await fake?.stop();
    }
  }, 120_000);

  it("answers a signed non-ASCII WhatsApp message through a Docker sandbox it created", async () => {
    const body = textWebhook({ waId: "4915123456789", name: "Jürgen", body: "Grüße! Erinnere mich morgen um 9 an den Zahnarzt 🦷" });
    const res = await fetch(`${url}/whatsapp/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, APP_SECRET) }, body });
    expect(res.status).toBe(200);
    await waitFor(async () => fake.sentMessages().length > 0, 120_000, "the agent's reply at the Graph API");
    expect(fake.sentMessages()[0]).toMatchObject({ to: "4915123456789", type: "text" });
    const net = (await docker.getNetwork(network).inspect()) as { Internal: boolean; Options: Record<string, string> };
    expect(net.Internal).toBe(true);
    expect(net.Options[ICC_OPTION]).toBe("false");
  }, 180_000);

  it("audit 15.4: lets a sandbox reach /llm/v1 and nothing else: not the admin API, metrics, webhooks, nor another sandbox", async () => {
    // A second user's sandbox, provisioned by the operator.
    expect((await admin("/sandbox", { method: "POST", body: JSON.stringify({ phone: "+44 7700 900123", name: "Other" }) })).status).toBe(201);
    const sandboxes = await docker.listContainers({ filters: { network: [network], label: [`${LABEL.managed}=true`] } });
    expect(sandboxes).toHaveLength(2);
    const [a, b] = sandboxes as [Dockerode.ContainerInfo, Dockerode.ContainerInfo];
    const env = ((await docker.getContainer(a.Id).inspect()).Config.Env ?? []).find((e) => e.startsWith("LLM_BASE_URL="))!.slice("LLM_BASE_URL=".length);
    const gateway = new URL(env);
    expect(gateway.port).toBe(String(sandboxPort));
    const onMain = (p: string) => `http://${gateway.hostname}:${port}${p}`;
    const onSandboxPort = (p: string) => `http://${gateway.hostname}:${sandboxPort}${p}`;
    const bAddress = b.NetworkSettings.Networks[network]!.IPAddress;

    const [llm, ...rest] = await probeFrom(a.Names[0]!.slice(1), [
      `${env}/models`,
      onMain("/sandbox/users"), onMain("/metrics"), onMain("/whatsapp/webhook"), onMain("/admin"),
      onSandboxPort("/sandbox/users"), onSandboxPort("/metrics"), onSandboxPort("/whatsapp/webhook"), onSandboxPort("/admin"),
      `http://${bAddress}:18789/`,
    ]);
    // Reachable: the gateway itself refuses a request without the sandbox's token.
    expect(llm).toBe(401);
    const [mainProbes, sandboxPortProbes, neighbour] = [rest.slice(0, 4), rest.slice(4, 8), rest[8]];
    for (const r of mainProbes) expect(String(r)).toMatch(/^no connection/);
    expect(sandboxPortProbes).toEqual([404, 404, 404, 404]);
    expect(String(neighbour)).toMatch(/^no connection/);
    // From the host, the main listener no longer serves the gateway, and metrics need a token.
    expect((await fetch(`${url}/llm/v1/models`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
  }, 120_000);
});
