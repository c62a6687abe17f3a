#!/usr/bin/env node
/**
 * Bundles the agent into one file, sandbox-image/bundle/main.js (esbuild): at start Node then reads,
 * compiles and runs one script instead of resolving and loading ~200 modules from disk. Only
 * better-sqlite3 stays outside (its native binding is loaded by path). `npm run sandbox:image` calls
 * this and ships the bundle as the image's sandbox-image/dist/main.js.
 *
 *   node sandbox-image/bundle.js
 *
 * The bundle also exposes every agent module under `__modules` (by its path under src/, without
 * extension), so the agent's own tests can run against the bundle instead of the sources
 * (AGENT_UNDER_TEST=bundle, see test-support/bundle-resolver.js). It writes one small shim per
 * module under bundle/modules/ that the resolver hands to jest.
 */
"use strict";
const fs = require("node:fs");
const { isBuiltin } = require("node:module");
const path = require("node:path");
const esbuild = require("esbuild");
const { escapeNonAscii } = require("./ascii-bundle");

const here = __dirname;
const src = path.join(here, "src");
const out = path.join(here, "bundle");
/** Packages loaded from node_modules at run time, not bundled. */
const EXTERNAL = ["better-sqlite3"];
/**
 * Modules bundled but evaluated on first use instead of at start (measured in docs/sandbox-speed.md):
 * what the importer names is replaced by an object of getters over the module's export names, and
 * the first property read evaluates the real module. Keyed by importer: chrono-node for everyone
 * (its English parsers are built at import; only a turn that reads a time needs them); tls, https
 * and zlib for ws only, which needs them as a client or with permessage-deflate, and the agent's
 * gateway is a server without compression; http for everyone, which keeps it out of the image's
 * startup snapshot (snapshot.js). Export names are read from this machine's Node and
 * packages; a name it lacks would read as undefined, so each lazy module's use must stay on them.
 * `load` names what is evaluated, when not the module itself: a required module cannot be
 * tree-shaken, and the agent uses only chrono's `parse`, which is the English locale's (the root
 * re-exports en.casual), so loading chrono-node/en keeps the other locales out as before.
 */
const LAZY = [
  { name: "chrono-node", load: "chrono-node/en", importers: /./ },
  { name: "tls", importers: /node_modules\/ws\// },
  { name: "https", importers: /node_modules\/ws\// },
  { name: "zlib", importers: /node_modules\/ws\// },
  // Everyone's: its parser binding holds native state a startup snapshot cannot keep (snapshot.js),
  // and ws and the gateway touch it only when they listen.
  { name: "http", importers: /./ },
];
const REAL = "lazy-real:";

const lazyModules = {
  name: "lazy-modules",
  setup(build) {
    const byName = new Map(LAZY.map((l) => [l.name, l]));
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.path.startsWith(REAL)) {
        const name = a.path.slice(REAL.length);
        return isBuiltin(name) ? { path: name, external: true } : build.resolve(name, { resolveDir: a.resolveDir, kind: "import-statement" });
      }
      const lazy = byName.get(a.path.replace(/^node:/, ""));
      if (!lazy || !lazy.importers.test(a.importer.split(path.sep).join("/"))) return undefined;
      return { path: lazy.load ?? lazy.name, namespace: "lazy", pluginData: { resolveDir: a.resolveDir } };
    });
    build.onLoad({ filter: /.*/, namespace: "lazy" }, (a) => {
      const keys = Object.keys(require(require.resolve(a.path, { paths: [a.pluginData.resolveDir] }))).filter((k) => k !== "default");
      return {
        loader: "js",
        resolveDir: a.pluginData.resolveDir,
        contents: [
          `let real;`,
          `const load = () => (real ??= require(${JSON.stringify(REAL + a.path)}));`,
          `for (const k of ${JSON.stringify(keys)}) Object.defineProperty(exports, k, { enumerable: true, get: () => load()[k] });`,
        ].join("\n"),
      };
    });
  },
};

/**
 * zod v4 re-exports all its ~45 locales as \`z.locales\`, so a bundle carries and evaluates every one
 * of them; the agent (and the protocol, which configures English) only ever uses \`en\`.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      /node_modules\/zod\/v4\//.test(a.importer.split(path.sep).join("/")) ? { path: path.join(a.resolveDir, "../locales/en.js"), namespace: "zod-locales" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (a) => ({ contents: `export { default as en } from ${JSON.stringify(a.path)};`, loader: "js", resolveDir: path.dirname(a.path) }));
  },
};

function modules(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) return modules(abs);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !e.name.endsWith(".test.ts") ? [path.relative(src, abs).slice(0, -3).split(path.sep).join("/")] : [];
  });
}

const names = modules(src).sort();
// main first: it is the program (it runs when the bundle is the process's main module).
const entry = [
  `export * from "./main";`,
  `export const __modules = {`,
  ...names.map((n) => `  get ${JSON.stringify(n)}() { return require(${JSON.stringify(`./${n}`)}); },`),
  `};`,
].join("\n");

async function main() {
fs.rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  stdin: { contents: entry, resolveDir: src, sourcefile: "bundle-entry.ts", loader: "ts" },
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  outfile: path.join(out, "main.js"),
  external: EXTERNAL,
  // Source files, not the compiled dist of the protocol: one TypeScript program, one pass.
  alias: { "@concierge/protocol": path.join(here, "../protocol/src/index.ts") },
  legalComments: "none",
  // Less source for V8 to hold and parse; identifiers kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: "warning",
  plugins: [lazyModules, zodEnglishOnly],
});

// ASCII only, so V8 holds the source as a one-byte string (half the memory of a two-byte one).
const bundleFile = path.join(out, "main.js");
fs.writeFileSync(bundleFile, escapeNonAscii(fs.readFileSync(bundleFile, "utf8")));

for (const n of names) {
  const shim = path.join(out, "modules", `${n}.js`);
  fs.mkdirSync(path.dirname(shim), { recursive: true });
  const rel = path.relative(path.dirname(shim), path.join(out, "main.js")).split(path.sep).join("/");
  fs.writeFileSync(shim, `module.exports = require(${JSON.stringify(rel.startsWith(".") ? rel : `./${rel}`)}).__modules[${JSON.stringify(n)}];\n`);
}
// What the bundle requires from node_modules at run time: build-context.js ships exactly these.
fs.writeFileSync(path.join(out, "external.json"), `${JSON.stringify(EXTERNAL)}\n`);
const bytes = fs.statSync(path.join(out, "main.js")).size;
const inputs = Object.keys(result.metafile.inputs).length;
process.stdout.write(`bundle: ${inputs} files -> ${path.relative(process.cwd(), path.join(out, "main.js"))} (${(bytes / 1024).toFixed(0)} KiB)\n`);
}

main().catch((err) => {
  process.stderr.write(`bundle: ${err.stack ?? err}\n`);
  process.exit(1);
});
