#!/usr/bin/env bash
# Builds the control plane's image (npm run control-plane:image) with no registry: compiles the
# control plane, prepares a build context from this checkout (control-plane/image/build-context.js)
# and runs `docker build -t ${CONTROL_PLANE_IMAGE:-concierge-control-plane:latest}`.
#
# The base is the agent's: node:24-bookworm-slim, made offline from the npm registry's Node 24
# package by scripts/node-runtime.sh when it is not on the daemon.
# Skipped when the image already carries the context's content hash (scripts/docker-build-cached.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
image="${CONTROL_PLANE_IMAGE:-concierge-control-plane:latest}"
base="$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$root/control-plane/Dockerfile" | head -n1)"
work="${TMPDIR:-/tmp}/concierge-control-plane-image-$(id -u)"
log() { printf '[control-plane:image] %s\n' "$*" >&2; }

mkdir -p "$work"
exec 9>"$work/lock"
flock 9

log "compiling the control plane"
(cd "$root" && npx --no-install tsc -b control-plane)

made="$("$root/scripts/node-runtime.sh" base)"
[ "$made" = "$base" ] || { log "control-plane/Dockerfile is FROM $base but scripts/node-runtime.sh makes $made"; exit 1; }

log "preparing the build context"
ctx="$work/context"
node "$here/build-context.js" "$root" "$ctx" >&2
cp "$root/control-plane/Dockerfile" "$ctx/"

bash "$root/scripts/docker-build-cached.sh" "$image" "$ctx" "$base" control-plane:image
