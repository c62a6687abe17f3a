import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { listen } from "../src/http/listen";
import { selfContainer } from "../src/sandboxes/self-container";

describe("the main listener on a wildcard address", () => {
  it("closes, unanswered, connections that arrive on the sandbox network's address, and answers every other", async () => {
    // 127.0.0.2 stands in for the bridge's gateway address: both are local addresses of this host
    // that a wildcard listener answers on (loopback only, per the network rule).
    const l = await listen((_req, res) => res.end("main"), 0, "0.0.0.0", { refuseLocalAddress: "127.0.0.2" });
    try {
      expect(await (await fetch(`http://127.0.0.1:${l.port}/`)).text()).toBe("main");
      await expect(fetch(`http://127.0.0.2:${l.port}/metrics`, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
    } finally {
      await l.close();
    }
  });
});

describe("which container the control plane runs in", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "self-container-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is SANDBOX_SELF_CONTAINER when set", () => {
    expect(selfContainer("cp-1", { dockerenv: path.join(dir, "absent") })).toEqual({ name: "cp-1", detected: false });
  });

  it("is the host name inside a container, marked as a guess", () => {
    const marker = path.join(dir, ".dockerenv");
    writeFileSync(marker, "");
    expect(selfContainer(undefined, { dockerenv: marker, hostname: () => "3f2a1b0c9d8e" })).toEqual({ name: "3f2a1b0c9d8e", detected: true });
  });

  it("is none on a plain host", () => {
    expect(selfContainer(undefined, { dockerenv: path.join(dir, "absent") })).toBeUndefined();
  });
});
