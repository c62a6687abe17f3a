#!/usr/bin/env node
/**
 * Prepares the agent image's build context from this checkout: the agent bundled into one file
 * (sandbox-image/bundle/main.js, from bundle.js; shipped as sandbox-image/dist/main.js), the
 * closure of the packages the bundle leaves outside (better-sqlite3 and what it loads) copied from
 * the repo's node_modules, workspace-templates, and the image's smoke test. Offline: it copies what
 * `npm install` already put on disk instead of asking a registry.
 *
 *   node sandbox-image/build-context.js <repo-root> <out-dir> [<better_sqlite3.node>]
 *
 * The optional third argument replaces better-sqlite3's native binary (the host's is built for the
 * host's Node; the image runs another: scripts/node-runtime.sh sqlite builds one for it).
 *
 * Layout under <out-dir>/app mirrors the repo, so main.js finds ../../workspace-templates the same
 * way in the image as in a checkout.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { copyPackage, dependencyClosure } = require("../scripts/package-closure");

const [root, out, sqliteBinary] = process.argv.slice(2).map((p) => path.resolve(p));
if (!root || !out) throw new Error("usage: build-context.js <repo-root> <out-dir>");
const app = path.join(out, "app");

/** Needed only to install better-sqlite3 (it fetches or builds the binary); never at run time. */
const INSTALL_ONLY = new Set(["prebuild-install"]);

/** Files no CommonJS program loads: types, maps, sources, ESM builds, docs (licenses always stay). */
const DROP_FILE = /\.(d\.[mc]?ts|[mc]?ts|map|mjs|md|markdown)$/i;
const DROP_TOP_DIR = new Set([".github", "docs", "doc", "example", "examples", "test", "tests", "__tests__", "benchmark", "benchmarks", "src"]);
/** Per package: only these top-level paths survive (prefix match), for the few heavy ones. */
const ONLY = {
  "better-sqlite3": ["package.json", "LICENSE", "lib", "build/Release/better_sqlite3.node"],
  luxon: ["package.json", "LICENSE.md", "build/node"],
  "chrono-node": ["package.json", "LICENSE", "dist/cjs"],
};

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(app, { recursive: true });

// The agent: its bundle (the protocol and every pure-JS dependency are inside it).
const bundle = path.join(root, "sandbox-image/bundle/main.js");
if (!fs.existsSync(bundle)) throw new Error("no sandbox-image/bundle/main.js: run node sandbox-image/bundle.js first");
fs.mkdirSync(path.join(app, "sandbox-image/dist"), { recursive: true });
fs.copyFileSync(path.join(root, "sandbox-image/package.json"), path.join(app, "sandbox-image/package.json"));
fs.copyFileSync(bundle, path.join(app, "sandbox-image/dist/main.js"));
fs.cpSync(path.join(root, "workspace-templates"), path.join(app, "workspace-templates"), { recursive: true });
for (const f of ["image-smoke.js", "snapshot.js", "snapshot-entry.js"]) fs.copyFileSync(path.join(root, "sandbox-image", f), path.join(out, f));

let count = 0;
const external = JSON.parse(fs.readFileSync(path.join(root, "sandbox-image/bundle/external.json"), "utf8"));
for (const [at, name] of dependencyClosure(path.join(root, "sandbox-image"), { skip: INSTALL_ONLY, names: external })) {
  copyPackage(at, path.join(app, path.relative(root, at)), { dropFile: DROP_FILE, dropTopDir: DROP_TOP_DIR, only: ONLY[name] });
  if (name === "better-sqlite3" && sqliteBinary) fs.copyFileSync(sqliteBinary, path.join(app, path.relative(root, at), "build/Release/better_sqlite3.node"));
  count++;
}
// The image's /data mount point, handed to the runtime user by the Dockerfile.
fs.mkdirSync(path.join(out, "data"));
process.stdout.write(`build context: ${count} packages -> ${out}\n`);
