import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const MAIN = path.resolve(__dirname, "../dist/main.js");

/** Starts the built control plane as `npm start` does and collects stdout until the banner is complete. */
function spawnMain(dataDir: string): ChildProcess {
  return spawn(process.execPath, [MAIN], {
    // Embedded defaults: no ADMIN_TOKEN, no WHATSAPP_*, no DATABASE_URL.
    env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, SANDBOX_RUNTIME: "process", LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function start(dataDir: string): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawnMain(dataDir);
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const deadline = Date.now() + 40_000;
  while (!/#\/console\n/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the control plane did not print its banner:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, banner: out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

describe("npm start on embedded defaults", () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), "concierge-start-"));
  });
  afterAll(async () => {
    if (child) await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints the dashboard URL and where the admin token it generated is saved, and both work", async () => {
    const first = await start(dataDir);
    child = first.child;
    // audit 15.18: the banner names the file; the token is read from it, as an operator would.
    const saved = /admin token: generated, saved to (\S+)/.exec(first.banner);
    expect(saved).not.toBeNull();
    const token = [saved![0], saved![1]!, readFileSync(saved![1]!, "utf8").trim()] as const;
    expect(token[2]).toMatch(/^adm_/);
    const dashboard = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/admin)\n/.exec(first.banner)![1]!;
    expect(first.banner).toContain(`WhatsApp: not configured; running against the built-in local Graph API sink (secrets in ${path.resolve(dataDir, "whatsapp-local.json")})`);

    const page = await fetch(dashboard);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/admin/assets/app.js");
    const api = dashboard.replace(/\/admin$/, "/admin/api/console");
    expect((await fetch(api)).status).toBe(401);
    expect((await fetch(api, { headers: { authorization: `Bearer ${token![2]}` } })).status).toBe(200);
    const secrets = readFileSync(path.join(dataDir, "whatsapp-local.json"), "utf8");

    // Restarted on the same DATA_DIR: the same token (not printed again) and the same WhatsApp secrets.
    await stop(child);
    const second = await start(dataDir);
    child = second.child;
    expect(second.banner).not.toContain(token![2]!);
    expect(second.banner).toContain(`admin token: in ${token![1]}`);
    expect(readFileSync(path.join(dataDir, "whatsapp-local.json"), "utf8")).toBe(secrets);
  }, 120_000);
});

describe("audit 15.18: the generated admin token is printed to stdout", () => {
  it("names the file the token is in and never prints the token itself", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "concierge-start-"));
    const { child, banner } = await start(dataDir);
    try {
      const token = readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
      expect(token.length).toBeGreaterThan(16);
      expect(banner).not.toContain(token);
      expect(banner).toContain(`admin token: generated, saved to ${path.resolve(dataDir, "admin-token")}`);
    } finally {
      await stop(child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** Every file and directory under dir, with its mode. */
function walk(dir: string): { file: string; mode: number; isFile: boolean }[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).map((e) => {
    const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    const st = statSync(file);
    return { file, mode: st.mode & 0o777, isFile: st.isFile() };
  });
}

describe("audit 15.2: the embedded database is world-readable and holds the control plane's signing key", () => {
  it("creates DATA_DIR 0700 and every file in it 0600, with the key only in its own file", async () => {
    const parent = mkdtempSync(path.join(tmpdir(), "concierge-start-"));
    const dataDir = path.join(parent, "data");
    const { child } = await start(dataDir);
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const entries = walk(dataDir);
      expect(entries.some((e) => e.file.includes(`${path.sep}pglite${path.sep}`))).toBe(true);
      expect(entries.filter((e) => (e.mode & 0o077) !== 0)).toEqual([]);
      const keyFile = path.join(dataDir, "control-plane-keys.json");
      const keys = JSON.parse(readFileSync(keyFile, "utf8"));
      // The private key's and the token secret's bytes are in no database file (tables, WAL).
      const secretLine = keys.privateKeyPem.split("\n")[1];
      for (const e of entries.filter((x) => x.isFile && x.file !== keyFile)) {
        const bytes = readFileSync(e.file);
        expect([e.file, bytes.includes(secretLine)]).toEqual([e.file, false]);
        expect([e.file, bytes.includes(keys.tokenSecret)]).toEqual([e.file, false]);
      }
    } finally {
      await stop(child);
      rmSync(parent, { recursive: true, force: true });
    }
  }, 120_000);

  it("refuses to start, saying how to fix it, when DATA_DIR is open to others", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "concierge-start-"));
    chmodSync(dataDir, 0o755);
    try {
      const child = spawnMain(dataDir);
      let out = "";
      child.stdout!.on("data", (c) => (out += c));
      child.stderr!.on("data", (c) => (out += c));
      const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      expect(code).toBe(2);
      expect(out).toContain(`refuses to start: DATA_DIR ${dataDir} is accessible to other users (mode 0755)`);
      expect(out).toContain(`chmod -R go-rwx ${dataDir}`);
      expect(out).not.toContain("    at ");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
