import { AGENT_PORT, CloseCode, PROTOCOL_VERSION } from "@concierge/protocol";
import { RawAgentSocket, signedConnect } from "../../test-support/agent-client";
import { describeDocker } from "../../test-support/docker";
import { IMAGE, TestSandboxSite, buildImage, docker } from "./image-fixture";

describeDocker("agent image, hardened container", () => {
  const site = new TestSandboxSite();
  let name: string;
  let ip: string;

  beforeAll(async () => {
    await buildImage();
    await site.create();
    // A fast health interval so the test can watch the image's own HEALTHCHECK pass.
    ({ name, ip } = await site.startAgent({}, ["--health-interval", "1s", "--health-start-period", "1s"]));
  }, 600_000);
  afterAll(() => site.cleanup(), 60_000);

  it("is small, runs as a numeric non-root user and declares port, healthcheck and command", async () => {
    const config = JSON.parse(await docker(["image", "inspect", "-f", "{{json .Config}}", IMAGE]));
    expect(config.User).toBe("10001:10001");
    expect(Object.keys(config.ExposedPorts)).toEqual([`${AGENT_PORT}/tcp`]);
    expect(config.Healthcheck.Test[0]).toBe("CMD");
    // The start from the startup snapshot built into the image (sandbox-image/snapshot.js).
    expect(config.Cmd).toEqual(["node", "--snapshot-blob", "/app/agent.blob"]);
    const size = Number(await docker(["image", "inspect", "-f", "{{.Size}}", IMAGE]));
    expect(size).toBeLessThan(300 * 1024 * 1024);
  });

  it("runs the bundled agent: only better-sqlite3 and what it loads are left in node_modules", async () => {
    const modules = JSON.parse(await docker(["exec", name, "node", "-p", "JSON.stringify(require('fs').readdirSync('/app/node_modules').sort())"]));
    expect(modules).toEqual(["better-sqlite3", "bindings", "file-uri-to-path"]);
  });

  it("runs Node 24 LTS, with better-sqlite3 built for its ABI", async () => {
    const probe = await docker(["exec", name, "node", "-p", "JSON.stringify({ version: process.version, sqlite: new (require('/app/node_modules/better-sqlite3'))(':memory:').prepare('select sqlite_version() v').get().v })"]);
    const { version, sqlite } = JSON.parse(probe);
    expect(version).toMatch(/^v24\./);
    expect(sqlite).toMatch(/^3\./);
  });

  it("answers the signed handshake over its private bridge IP, with no published port", async () => {
    const client = await site.connect(ip);
    try {
      expect(client.helloFrame).toMatchObject({ type: "hello", protocolVersion: PROTOCOL_VERSION });
      expect(client.helloFrame.capabilities).toContain("chat.send");
    } finally {
      client.close();
    }
    const ports = JSON.parse(await docker(["inspect", "-f", "{{json .HostConfig.PortBindings}}", name]));
    expect(ports === null || Object.keys(ports).length === 0).toBe(true);
  }, 60_000);

  it("refuses a wrong token from the network with 4001", async () => {
    const s = await RawAgentSocket.open(`ws://${ip}:${AGENT_PORT}`);
    try {
      s.send(signedConnect({ ...site.creds, token: "sbx_wrong_token_wrong_token" }, await s.challenge()));
      expect((await s.closedWithin()).code).toBe(CloseCode.unauthorized);
    } finally {
      s.close();
    }
  });

  it("runs with a read-only root, no capabilities, no-new-privileges and the resource limits", async () => {
    const host = JSON.parse(await docker(["inspect", "-f", "{{json .HostConfig}}", name]));
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toContain("no-new-privileges");
    expect(host.Privileged).toBe(false);
    expect(host.Memory).toBe(256 * 1024 * 1024);
    expect(host.PidsLimit).toBe(128);
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.Tmpfs).toHaveProperty("/tmp");
    expect(await docker(["inspect", "-f", "{{.Config.User}}", name])).toBe("10001:10001");

    // From inside: uid 10001, the root is read-only, /data and /tmp are writable, no capabilities.
    const probe = await docker([
      "exec", name, "node", "-e",
      `const fs = require("fs");
       const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); fs.unlinkSync(p); return "ok"; } catch (e) { return e.code; } };
       const capEff = fs.readFileSync("/proc/self/status", "utf8").match(/CapEff:\\s*(\\w+)/)[1];
       const noNewPrivs = fs.readFileSync("/proc/self/status", "utf8").match(/NoNewPrivs:\\s*(\\d)/)[1];
       console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), root: tryWrite("/probe"), app: tryWrite("/app/probe"), data: tryWrite("/data/probe"), tmp: tryWrite("/tmp/probe"), capEff, noNewPrivs }));`,
    ]);
    expect(JSON.parse(probe)).toEqual({ uid: 10001, gid: 10001, root: "EROFS", app: "EROFS", data: "ok", tmp: "ok", capEff: "0000000000000000", noNewPrivs: "1" });
  });

  it("reports healthy through the image's own HEALTHCHECK", async () => {
    let status = "";
    for (let i = 0; i < 60 && status !== "healthy"; i++) {
      status = await docker(["inspect", "-f", "{{.State.Health.Status}}", name]);
      if (status !== "healthy") await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe("healthy");
  }, 60_000);

  it("logs JSON without the token, and stops cleanly on SIGTERM", async () => {
    const logs = await docker(["logs", name]);
    expect(logs).toContain("agent process ready");
    // It came up from the snapshot, not by evaluating the bundle.
    const ready = logs.split("\n").find((l) => l.includes('"agent process ready"'));
    expect(JSON.parse(ready!)).toMatchObject({ startedFrom: "snapshot" });
    // A new volume is a copy of the image's /data, where the build did the first boot: nothing to seed.
    expect(logs).not.toContain("workspace created from templates");
    expect(logs).not.toContain(site.creds.token);
    for (const line of logs.split("\n").filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    await docker(["stop", "-t", "10", name]);
    expect(await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).toBe("0");
  }, 60_000);
});
