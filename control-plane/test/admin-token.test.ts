import { statSync, readFileSync } from "node:fs";
import path from "node:path";
import { resolveAdminToken } from "../src/admin/admin-token";
import { useTempDir } from "../../test-support/temp-dir";

describe("admin token", () => {
  const dir = useTempDir("concierge-admin-");

  it("uses ADMIN_TOKEN when set and writes nothing", async () => {
    expect(await resolveAdminToken({ configured: "configured-token-0123456789", dataDir: dir() })).toEqual({ token: "configured-token-0123456789", source: "env" });
    expect(() => statSync(path.join(dir(), "admin-token"))).toThrow();
  });

  it("generates one on first start, readable only by its owner, and reuses it after", async () => {
    const first = await resolveAdminToken({ dataDir: dir() });
    expect(first.source).toBe("generated");
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir(), "admin-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toBe(first.token);
    const second = await resolveAdminToken({ dataDir: dir() });
    expect(second).toEqual({ token: first.token, source: "file", file });
  });

  it("two processes starting at once agree on one token", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => resolveAdminToken({ dataDir: dir() })));
    expect(new Set(results.map((r) => r.token)).size).toBe(1);
    expect(results.filter((r) => r.source === "generated")).toHaveLength(1);
  });
});
