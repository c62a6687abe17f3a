#!/usr/bin/env bash
# Builds the control plane's image (npm run control-plane:image) with no registry: compiles the
# control plane, prepares a build context from this checkout (control-plane/image/build-context.js)
# and runs `docker build -t ${CONTROL_PLANE_IMAGE:-concierge-control-plane:latest}`.
#
# The base is the node:20-bookworm-slim that `npm run sandbox:image` makes locally from this
# machine's Node when it is not on the daemon: that script runs first when the base is missing.
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

if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "$base is not on this daemon: making it (and the agent image) with npm run sandbox:image"
  (cd "$root" && bash sandbox-image/build-image.sh)
fi

log "preparing the build context"
ctx="$work/context"
node "$here/build-context.js" "$root" "$ctx" >&2
cp "$root/control-plane/Dockerfile" "$ctx/"

bash "$root/scripts/docker-build-cached.sh" "$image" "$ctx" "$base" control-plane:image
