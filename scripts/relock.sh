#!/usr/bin/env bash
# Regenerates package-lock.json from the package.json files alone (no node_modules), so that every
# platform's optional packages are recorded and `npm ci` works on any machine. Run it after adding
# a dependency when `npm ci` on a clean clone complains "Missing: ... from lock file".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for f in package.json .npmrc protocol/package.json sandbox-image/package.json control-plane/package.json; do
  mkdir -p "$WORK/$(dirname "$f")"
  cp "$ROOT/$f" "$WORK/$f"
done
(cd "$WORK" && npm install --package-lock-only --no-audit --no-fund >/dev/null)
cp "$WORK/package-lock.json" "$ROOT/package-lock.json"
