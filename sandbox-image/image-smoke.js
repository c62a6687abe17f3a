#!/usr/bin/env node
/**
 * The image's own smoke test, run by its Dockerfile on the finished /app (no network): the native
 * SQLite binding loads on this base, and the bundled agent starts from a real environment (fresh
 * key, empty data directory), logs "agent process ready", then stops with exit 0 on SIGTERM.
 *
 * Run with NODE_COMPILE_CACHE set, it also primes Node's compile cache with what a start compiles:
 * the cache directory is part of the image (the root FS is read-only at run time).
 *
 *   node image-smoke.js <main.js> [<data dir>]
 *   node image-smoke.js --snapshot-blob <blob>     (the image's CMD: the start from its snapshot)
 *
 * Given a data directory, the agent's first boot happens there and is kept: the migrated database
 * and the seeded workspace become the image's /data, which Docker copies into every new named
 * volume, so a user's first start skips both.
 */
"use strict";
const { spawn } = require("node:child_process");
const { generateKeyPairSync } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

// `--snapshot-blob <blob>`: the start from the image's startup snapshot (snapshot.js), which must
// log ready with startedFrom "snapshot"; otherwise the bundle's path.
const fromSnapshot = process.argv[2] === "--snapshot-blob";
const blob = fromSnapshot ? process.argv[3] : undefined;
const main = fromSnapshot ? "/app/sandbox-image/dist/main.js" : (process.argv[2] ?? "/app/sandbox-image/dist/main.js");
const Db = require(require.resolve("better-sqlite3", { paths: [path.dirname(main)] }));
new Db(":memory:").pragma("journal_mode");

const keep = fromSnapshot ? undefined : process.argv[3];
const dataDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), "agent-smoke-"));
const publicKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
const child = spawn(process.execPath, fromSnapshot ? ["--snapshot-blob", blob] : [main], {
  env: { ...process.env, SANDBOX_ID: "smoke", SANDBOX_TOKEN: "sbx_smoke_smoke_smoke_smoke", CONTROL_PLANE_PUBLIC_KEY: Buffer.from(publicKey).toString("base64"), AGENT_DATA_DIR: dataDir, AGENT_HOST: "127.0.0.1", AGENT_PORT: "0" },
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
let stopping = false;
const timer = setTimeout(() => fail("the agent did not log 'agent process ready' within 60 s"), 60_000);
function fail(why) {
  process.stderr.write(`image smoke test failed: ${why}\n${out}\n`);
  child.kill("SIGKILL");
  process.exit(1);
}
child.stdout.on("data", (d) => {
  out += d;
  if (out.includes('"agent process ready"') && !stopping) {
    stopping = true;
    child.kill("SIGTERM");
  }
});
child.on("exit", (code) => {
  clearTimeout(timer);
  if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  if (!out.includes('"agent process ready"')) fail(`the agent exited (${code}) before it was ready`);
  if (fromSnapshot && !out.includes('"startedFrom":"snapshot"')) fail("the agent did not start from the snapshot");
  if (code !== 0) fail(`the agent exited ${code} on SIGTERM`);
  process.stdout.write(`image smoke test: agent started${fromSnapshot ? " from its snapshot" : ""} and stopped cleanly\n`);
});
