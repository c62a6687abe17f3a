#!/usr/bin/env node
/**
 * Prepares the control plane image's build context from this checkout, offline: the compiled
 * control plane and protocol, the dashboard's static assets, the SQL migrations, and the control
 * plane's production dependency closure copied from the repo's node_modules (what `npm install`
 * already put on disk; no registry is asked). Nothing of the agent: sandboxes run from their own
 * image, and the container runs the Docker runtime only.
 *
 *   node control-plane/image/build-context.js <repo-root> <out-dir>
 *
 * <out-dir>/app mirrors the repo, so dist/db/database.js finds ../../../migrations as in a checkout.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { copyPackage, dependencyClosure } = require("../../scripts/package-closure");

const [root, out] = process.argv.slice(2).map((p) => path.resolve(p));
if (!root || !out) throw new Error("usage: build-context.js <repo-root> <out-dir>");
const app = path.join(out, "app");

/** Loaded by nothing at run time: types, sources, maps, docs (every ESM and CJS build stays: pg loads .mjs). */
const DROP_FILE = /\.([mc]?ts|map|md|markdown)$/i;
const DROP_TOP_DIR = new Set([".github", "docs", "doc", "example", "examples", "test", "tests", "__tests__", "benchmark", "benchmarks"]);

const jsOnly = (file) => fs.statSync(file).isDirectory() || (/\.(c?js|json)$/.test(file) && !file.endsWith(".test.js"));

/** A workspace package: its package.json and compiled JavaScript. */
function copyWorkspace(src, dest) {
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(path.join(src, "package.json"), path.join(dest, "package.json"));
  fs.cpSync(path.join(src, "dist"), path.join(dest, "dist"), { recursive: true, filter: jsOnly });
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(app, { recursive: true });

const cp = path.join(root, "control-plane");
if (!fs.existsSync(path.join(cp, "dist/main.js"))) throw new Error("control-plane/dist/main.js is missing: run npx tsc -b first");
copyWorkspace(cp, path.join(app, "control-plane"));
// The dashboard serves its static files from dist/admin/dashboard/assets (tsc does not copy them).
fs.cpSync(path.join(cp, "src/admin/dashboard/assets"), path.join(app, "control-plane/dist/admin/dashboard/assets"), { recursive: true });
fs.cpSync(path.join(root, "migrations"), path.join(app, "migrations"), { recursive: true });

let count = 0;
for (const [at, name] of dependencyClosure(cp)) {
  const dest = path.join(app, path.relative(root, at));
  if (name.startsWith("@concierge/")) copyWorkspace(fs.realpathSync(at), dest);
  else copyPackage(at, dest, { dropFile: DROP_FILE, dropTopDir: DROP_TOP_DIR });
  count++;
}
process.stdout.write(`build context: ${count} packages -> ${out}\n`);
