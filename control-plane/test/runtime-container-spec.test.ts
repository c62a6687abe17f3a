import { buildContainerSpec, configHash, containerName, LABEL, volumeName } from "../src/sandboxes/container-spec";
import { buildAgentEnv } from "../src/sandboxes/agent-env";
import { safeWorkspacePath } from "../src/admin/workspace-path";
import type { SandboxSpec } from "../src/sandboxes/runtime";

const limits = { memoryMb: 256, cpus: 0.5, pids: 128 };
const spec: SandboxSpec = {
  userId: "0b6f3c5e-1111-4222-8333-944455556666",
  sandboxId: "sbx-1",
  image: "concierge-agent:latest",
  env: { SANDBOX_ID: "sbx-1", SANDBOX_TOKEN: "sbx_token_value_123456" },
  limits,
  configHash: "abc123",
};

describe("buildContainerSpec (pure, no daemon)", () => {
  const built = buildContainerSpec({ spec, network: "concierge-sandboxes", extraLabels: { [LABEL.testRun]: "t1" } });
  const hc = built.create.HostConfig!;

  it("names the container and volume deterministically per user", () => {
    expect(built.name).toBe(`concierge-sbx-${spec.userId}`);
    expect(built.create.name).toBe(built.name);
    expect(containerName(spec.userId)).toBe(built.name);
    expect(built.volume.Name).toBe(volumeName(spec.userId));
    expect(containerName("Weird/User Id")).toMatch(/^concierge-sbx-[a-z0-9_.-]+$/);
  });

  it("labels the container and its volume with owner, sandbox, config hash and the test run", () => {
    expect(built.labels).toEqual({
      [LABEL.managed]: "true",
      [LABEL.owner]: spec.userId,
      [LABEL.sandbox]: "sbx-1",
      [LABEL.configHash]: "abc123",
      [LABEL.testRun]: "t1",
    });
    expect(built.create.Labels).toEqual(built.labels);
    expect(built.volume.Labels).toMatchObject({ [LABEL.owner]: spec.userId, [LABEL.testRun]: "t1" });
  });

  it("hardens: non-root, no capabilities, no-new-privileges, read-only root with tmpfs /tmp, limits, capped restarts", () => {
    expect(built.create.User).toBe("10001:10001");
    expect(hc.CapDrop).toEqual(["ALL"]);
    expect(hc.CapAdd).toBeUndefined();
    expect(hc.Privileged).toBeFalsy();
    expect(hc.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(Object.keys(hc.Tmpfs!)).toEqual(["/tmp"]);
    expect(hc.Memory).toBe(256 * 1024 * 1024);
    expect(hc.MemorySwap).toBe(hc.Memory);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.PidsLimit).toBe(128);
    expect(hc.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
  });

  it("creates with a startup CPU boost when the spec has one above the limit, never below the limit", () => {
    const boost = (startCpus: number) => buildContainerSpec({ spec: { ...spec, startCpus }, network: "n" }).create.HostConfig!.NanoCpus;
    expect(boost(2)).toBe(2_000_000_000);
    expect(boost(0.25)).toBe(500_000_000);
    // The boost is not part of the spec's identity: the same labels (config hash) either way.
    expect(buildContainerSpec({ spec: { ...spec, startCpus: 2 }, network: "n" }).labels).toEqual(buildContainerSpec({ spec, network: "n" }).labels);
  });

  it("mounts only the user's volume at /data, publishes no port, joins only the private network, never the Docker socket", () => {
    expect(hc.Mounts).toEqual([{ Type: "volume", Source: volumeName(spec.userId), Target: "/data", ReadOnly: false }]);
    expect(hc.Binds).toBeUndefined();
    expect(hc.PortBindings).toBeUndefined();
    expect(hc.PublishAllPorts).toBeFalsy();
    expect(built.create.ExposedPorts).toBeUndefined();
    expect(hc.NetworkMode).toBe("concierge-sandboxes");
    expect(Object.keys(built.create.NetworkingConfig!.EndpointsConfig!)).toEqual(["concierge-sandboxes"]);
    expect(JSON.stringify(built.create)).not.toContain("docker.sock");
  });

  it("passes the agent's env plus where to listen and keep data", () => {
    expect(built.create.Env).toEqual(expect.arrayContaining(["SANDBOX_ID=sbx-1", "SANDBOX_TOKEN=sbx_token_value_123456", "AGENT_PORT=18789", "AGENT_HOST=0.0.0.0", "AGENT_DATA_DIR=/data"]));
  });
});

describe("configHash", () => {
  const base = { image: "concierge-agent:latest", imageId: "sha256:aaa", limits, env: { A: "1", B: "2" } };
  it("is stable and ignores env order", () => {
    expect(configHash(base)).toBe(configHash({ ...base, env: { B: "2", A: "1" } }));
  });
  it("changes with the image tag, the image's identity, the limits and the env", () => {
    const h = configHash(base);
    expect(configHash({ ...base, image: "concierge-agent:v2" })).not.toBe(h);
    expect(configHash({ ...base, imageId: "sha256:bbb" })).not.toBe(h);
    expect(configHash({ ...base, limits: { ...limits, memoryMb: 512 } })).not.toBe(h);
    expect(configHash({ ...base, env: { A: "1", B: "3" } })).not.toBe(h);
  });
});

describe("buildAgentEnv", () => {
  const input = { sandboxId: "s", token: "sbx_t", publicKeyPem: "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n", dataDir: "/data", gatewayUrl: "http://172.18.0.1:3001/llm/v1", timezone: "Europe/Berlin" };
  it("carries the token, the base64 public key and the gateway, and LLM models only when configured", () => {
    const env = buildAgentEnv(input);
    expect(env).toMatchObject({ SANDBOX_ID: "s", SANDBOX_TOKEN: "sbx_t", AGENT_DATA_DIR: "/data", USER_TIMEZONE: "Europe/Berlin", LLM_BASE_URL: input.gatewayUrl });
    expect(Buffer.from(env.CONTROL_PLANE_PUBLIC_KEY!, "base64").toString()).toBe(input.publicKeyPem);
    expect(env.LLM_MODEL).toBeUndefined();
    expect(buildAgentEnv({ ...input, llm: { model: "m", heartbeatModel: "h" } })).toMatchObject({ LLM_MODEL: "m", LLM_HEARTBEAT_MODEL: "h" });
  });
  it("never carries a provider key", () => {
    const env = buildAgentEnv({ ...input, llm: { model: "m", heartbeatModel: "h" } });
    expect(Object.keys(env).filter((k) => /API_KEY/.test(k))).toEqual([]);
  });
});

describe("safeWorkspacePath", () => {
  it("accepts relative paths", () => {
    expect(safeWorkspacePath(["skills", "notes.md"])).toBe("skills/notes.md");
    expect(safeWorkspacePath("SOUL.md")).toBe("SOUL.md");
  });
  it.each([["../etc/passwd"], ["a/../../b"], ["/etc/passwd"], ["a\\..\\b"], ["./x"], ["a//b"], [""], ["x\0y"], ["C:/x"]])("refuses %j", (p) => {
    expect(() => safeWorkspacePath(p)).toThrow(/workspace path refused/);
  });
});
