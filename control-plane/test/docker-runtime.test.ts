import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Dockerode from "dockerode";
import { generateSigningKeyPair } from "@concierge/protocol";
import { createLogger } from "../src/logger";
import { DockerRuntime } from "../src/sandboxes/docker-runtime";
import { buildAgentEnv } from "../src/sandboxes/agent-env";
import { configHash, containerName, LABEL, volumeName } from "../src/sandboxes/container-spec";
import type { SandboxSpec } from "../src/sandboxes/runtime";
import { ConnectionManager } from "../src/connections/connection-manager";
import { describeDocker, TEST_RUN_ID } from "../../test-support/docker";
import { ensureAgentImage, removeTestDockerObjects, TEST_AGENT_IMAGE } from "../../test-support/sandbox-harness";

const logger = createLogger({ level: "silent" });
const network = `concierge-test-rt-${TEST_RUN_ID}`;

describeDocker("DockerRuntime against the real daemon", () => {
  const docker = new Dockerode();
  const runtime = new DockerRuntime({ docker, network, logger, testRunId: TEST_RUN_ID, instanceId: "instance-a" });
  const keys = generateSigningKeyPair();
  const userId = `rt-${TEST_RUN_ID}`;
  let spec: SandboxSpec;
  let gatewayServer: Server | undefined;

  beforeAll(async () => {
    ensureAgentImage();
    const imageId = await runtime.resolveImage({ image: TEST_AGENT_IMAGE });
    const env = buildAgentEnv({
      sandboxId: "sbx-rt",
      token: "sbx_runtime_test_token_0123456789",
      publicKeyPem: keys.publicKeyPem,
      dataDir: "/data",
      gatewayUrl: await runtime.gatewayUrl({ port: 3001 }),
      timezone: "UTC",
    });
    const limits = { memoryMb: 200, cpus: 0.5, pids: 100 };
    spec = { userId, sandboxId: "sbx-rt", image: TEST_AGENT_IMAGE, env, limits, configHash: configHash({ image: TEST_AGENT_IMAGE, imageId, limits, env }) };
  }, 600_000);

  afterAll(async () => {
    gatewayServer?.close();
    await runtime.remove({ userId, removeData: true }).catch(() => undefined);
    await removeTestDockerObjects(network);
  }, 60_000);

  it("two creates racing for one user make one container: the loser's 409 is adopted", async () => {
    const [a, b] = await Promise.all([runtime.create({ spec }), runtime.create({ spec })]);
    expect(a.id).toBe(b.id);
    const all = await docker.listContainers({ all: true, filters: { label: [`${LABEL.owner}=${userId}`] } });
    expect(all).toHaveLength(1);
  });

  it("runs the container with every hardening flag, read back from docker inspect", async () => {
    const started = await runtime.start({ userId });
    expect(started.running).toBe(true);
    const info = await docker.getContainer(containerName(userId)).inspect();
    const hc = info.HostConfig;
    expect(info.Config.User).toBe("10001:10001");
    expect(info.Config.Healthcheck?.Test).toEqual(["NONE"]);
    expect(hc.CapDrop).toEqual(["ALL"]);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.Privileged).toBe(false);
    expect(hc.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(Object.keys(hc.Tmpfs ?? {})).toEqual(["/tmp"]);
    expect(hc.Memory).toBe(200 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.PidsLimit).toBe(100);
    expect(hc.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    expect(hc.PortBindings ?? {}).toEqual({});
    expect(hc.PublishAllPorts).toBe(false);
    expect(Object.values(info.NetworkSettings.Ports ?? {}).every((b) => b === null)).toBe(true);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: volumeName(userId), Destination: "/data", RW: true })]);
    expect(info.Config.Labels).toMatchObject({ [LABEL.instance]: "instance-a", [LABEL.owner]: userId, [LABEL.sandbox]: "sbx-rt", [LABEL.configHash]: spec.configHash, [LABEL.testRun]: TEST_RUN_ID });
    // And the kernel agrees: not root, and the root filesystem refuses writes.
    const id = execFileSync("docker", ["exec", containerName(userId), "node", "-e", "process.stdout.write(String(process.getuid()))"]).toString();
    expect(id).toBe("10001");
    expect(() => execFileSync("docker", ["exec", containerName(userId), "node", "-e", "require('fs').writeFileSync('/app/x', 'x')"], { stdio: "pipe" })).toThrow();
    execFileSync("docker", ["exec", containerName(userId), "node", "-e", "require('fs').writeFileSync('/tmp/x', 'x'); require('fs').writeFileSync('/data/x', 'x')"]);
    const vol = await docker.getVolume(volumeName(userId)).inspect();
    expect(vol.Labels).toMatchObject({ [LABEL.owner]: userId, [LABEL.testRun]: TEST_RUN_ID });
  });

  it("puts sandboxes on an internal network, without inter-container traffic, that the host reaches, and from which they reach the host's gateway", async () => {
    const net = (await docker.getNetwork(network).inspect()) as { Internal: boolean; Labels: Record<string, string>; Options: Record<string, string>; IPAM: { Config: { Gateway: string }[] } };
    expect(net.Internal).toBe(true);
    expect(net.Options).toMatchObject({ "com.docker.network.bridge.enable_icc": "false" });
    // On the host (not in a container), the sandbox listener binds the bridge's gateway address.
    expect(await runtime.listenHost()).toBe(net.IPAM.Config[0]!.Gateway);
    expect(net.Labels).toMatchObject({ [LABEL.testRun]: TEST_RUN_ID });
    // The host dials the agent on its container address: the signed handshake completes.
    const inst = (await runtime.inspect({ userId }))!;
    expect(inst.endpoint).toMatch(/^ws:\/\/\d+\.\d+\.\d+\.\d+:18789$/);
    const cm = new ConnectionManager({ signingPrivateKeyPem: keys.privateKeyPem, logger, connectTimeoutMs: 15_000 });
    try {
      await cm.connect({ sandboxId: "sbx-rt", endpoint: inst.endpoint!, token: "sbx_runtime_test_token_0123456789" });
    } finally {
      await cm.closeAll();
    }
    // The sandbox reaches the LLM gateway URL it was given: a server on this host, via the bridge's gateway.
    gatewayServer = createServer((req, res) => res.end(`gateway saw ${req.url}`));
    await new Promise<void>((r) => gatewayServer!.listen(0, net.IPAM.Config[0]!.Gateway, () => r()));
    const port = (gatewayServer.address() as AddressInfo).port;
    const url = `${await runtime.gatewayUrl({ port })}/models`;
    const script = `fetch(process.argv[1]).then(r => r.text()).then(t => { process.stdout.write(t); process.exit(0) }, e => { process.stdout.write("ERR " + e.message); process.exit(1) }); setTimeout(() => process.exit(2), 5000)`;
    // Async: a sync exec would block this process, and with it the server that must answer.
    const { stdout: out } = await promisify(execFile)("docker", ["exec", containerName(userId), "node", "-e", script, url], { timeout: 15_000 });
    expect(out).toBe("gateway saw /llm/v1/models");
  });

  it("in a bridged container: refuses an isolated network, joins an open one and is reached at its own address there; a guessed name that is no container is the host", async () => {
    const bridged = `concierge-test-bridged-${TEST_RUN_ID}`;
    execFileSync("docker", ["run", "-d", "--rm", "--name", bridged, "--label", `${LABEL.testRun}=${TEST_RUN_ID}`, TEST_AGENT_IMAGE, "node", "-e", "setTimeout(() => {}, 60000)"], { stdio: "pipe" });
    try {
      const inBridge = new DockerRuntime({ docker, network, logger, testRunId: TEST_RUN_ID, selfContainer: { name: bridged, detected: false } });
      await expect(inBridge.listenHost()).rejects.toThrow(/inter-container traffic off.*network_mode: host/);
    } finally {
      execFileSync("docker", ["rm", "-f", bridged], { stdio: "pipe" });
    }
    // On a network that lets containers talk (an operator's own), a bridged control plane joins it
    // and is reached at its own address there.
    const open = `${network}-icc`;
    execFileSync("docker", ["network", "create", "--internal", "--label", `${LABEL.testRun}=${TEST_RUN_ID}`, open], { stdio: "pipe" });
    execFileSync("docker", ["run", "-d", "--rm", "--name", bridged, "--label", `${LABEL.testRun}=${TEST_RUN_ID}`, TEST_AGENT_IMAGE, "node", "-e", "setTimeout(() => {}, 60000)"], { stdio: "pipe" });
    try {
      const joined = new DockerRuntime({ docker, network: open, logger, testRunId: TEST_RUN_ID, selfContainer: { name: bridged, detected: false } });
      const host = await joined.listenHost();
      const info = await docker.getContainer(bridged).inspect();
      expect(host).toBe(info.NetworkSettings.Networks[open]!.IPAddress);
      expect(await joined.gatewayUrl({ port: 3002 })).toBe(`http://${host}:3002/llm/v1`);
    } finally {
      execFileSync("docker", ["rm", "-f", bridged], { stdio: "pipe" });
      execFileSync("docker", ["network", "rm", open], { stdio: "pipe" });
    }
    const guessed = new DockerRuntime({ docker, network, logger, testRunId: TEST_RUN_ID, selfContainer: { name: `no-such-container-${TEST_RUN_ID}`, detected: true } });
    expect(await guessed.listenHost()).toBe(await runtime.listenHost());
  });

  it("reads logs, memory use and lists only this run's containers", async () => {
    const logs = await runtime.logs({ userId, tail: 50 });
    expect(logs).toContain("gateway listening");
    expect(logs).not.toContain("sbx_runtime_test_token");
    const mem = await runtime.memoryUsage({ userId });
    expect(mem).toBeGreaterThan(1024 * 1024);
    expect(mem).toBeLessThan(200 * 1024 * 1024);
    const listed = await runtime.list();
    expect(listed.map((i) => i.userId)).toContain(userId);
    expect(listed.every((i) => i.userId.length > 0)).toBe(true);
    // Another deployment on the same daemon (or a production control plane beside a test run)
    // never sees it, so its reconciler can never remove it.
    const otherDeployment = new DockerRuntime({ docker, network, logger, testRunId: TEST_RUN_ID, instanceId: "instance-b" });
    expect((await otherDeployment.list()).map((i) => i.userId)).not.toContain(userId);
    const production = new DockerRuntime({ docker, network, logger });
    expect((await production.list()).map((i) => i.userId)).not.toContain(userId);
  });

  it("stop, remove and remove again are all success; the volume goes only when asked", async () => {
    await runtime.stop({ userId, timeoutSeconds: 5 });
    expect((await runtime.inspect({ userId }))!.running).toBe(false);
    await runtime.stop({ userId });
    await runtime.remove({ userId });
    expect(await runtime.inspect({ userId })).toBeNull();
    await expect(docker.getVolume(volumeName(userId)).inspect()).resolves.toBeTruthy();
    await runtime.remove({ userId, removeData: true });
    await expect(docker.getVolume(volumeName(userId)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
