"use strict";
/**
 * A workspace's runtime dependency closure, copied from the repo's node_modules into an image's
 * build context: what `npm install` already put on disk, so no registry is asked. Used by
 * control-plane/image/build-context.js and sandbox-image/build-context.js.
 */
const fs = require("node:fs");
const path = require("node:path");

/** Licenses and notices always stay. */
const KEEP_FILE = /^(licen[cs]e|notice|copying)/i;

function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Every package `start` can load, resolved as Node resolves it: path in the repo -> package name.
 * `names` starts from those packages instead of all of start's dependencies (what a bundle leaves
 * outside); `skip` names packages never needed at run time.
 */
function dependencyClosure(start, { skip = new Set(), names } = {}) {
  const found = new Map();
  const visit = (dir, only) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const optional = pkg.optionalDependencies ?? {};
    for (const name of only ?? Object.keys({ ...pkg.dependencies, ...optional })) {
      if (skip.has(name)) continue;
      const at = findPackage(name, dir);
      if (!at) {
        if (name in optional) continue; // loaded in a try by whoever wants it
        throw new Error(`${pkg.name} needs ${name}, which is not installed: run npm ci first`);
      }
      if (found.has(at)) continue;
      found.set(at, name);
      visit(at);
    }
  };
  visit(start, names);
  return found;
}

/**
 * Copies one package without its nested node_modules (copied as packages of their own) and the
 * files nothing loads; with `only`, just those top-level paths (prefix match), for heavy packages.
 */
function copyPackage(src, dest, { dropFile, dropTopDir, only }) {
  fs.cpSync(src, dest, {
    recursive: true,
    dereference: true,
    filter(file) {
      const rel = path.relative(src, file).split(path.sep).join("/");
      if (rel === "") return true;
      if (rel === "node_modules" || rel.startsWith("node_modules/")) return false;
      if (only) return only.some((keep) => keep === rel || keep.startsWith(`${rel}/`) || rel.startsWith(`${keep}/`));
      const base = path.basename(file);
      if (!rel.includes("/") && dropTopDir.has(base) && fs.statSync(file).isDirectory()) return false;
      return KEEP_FILE.test(base) || !dropFile.test(base);
    },
  });
}

module.exports = { findPackage, dependencyClosure, copyPackage };
