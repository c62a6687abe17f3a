#!/usr/bin/env node
/**
 * `npm run bench -- <name> [args]`: runs the bench named <name>. Benches are TypeScript files under
 * <workspace>/bench/<name>.ts, run with tsx after `tsc -b` has built the workspaces they import.
 */
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const workspaces = ["control-plane", "sandbox-image", "protocol"];
const benches = {};
for (const ws of workspaces) {
  const dir = path.join(root, ws, "bench");
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir)) {
    const m = /^(.+)\.(ts|js)$/.exec(f);
    if (m && !f.endsWith(".d.ts")) benches[m[1]] = path.join(dir, f);
  }
}

const [name, ...rest] = process.argv.slice(2);
if (!name || !benches[name]) {
  process.stderr.write(`usage: npm run bench -- <name> [args]\nbenches: ${Object.keys(benches).sort().join(", ") || "(none)"}\n`);
  process.exit(name ? 2 : 0);
}
const file = benches[name];
const args = file.endsWith(".ts") ? ["--import", "tsx", file, ...rest] : [file, ...rest];
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
