#!/usr/bin/env bash
# Builds the agent image (npm run sandbox:image): compiles the agent, prepares a build context from
# this checkout (no registry needed) and runs `docker build -t ${SANDBOX_IMAGE:-concierge-agent:latest}`.
#
# Idempotent and fast when nothing changed: the context's content hash is stored as an image label,
# and a build is skipped when the image already carries it.
#
# When the base `node:20-bookworm-slim` is not on the daemon, it is first made locally from this
# machine's own Node runtime (see make_local_base), so the Dockerfile stays conventional and builds
# offline. SANDBOX_PULL_BASE=1 pulls the real base instead, where a registry is reachable.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
image="${SANDBOX_IMAGE:-concierge-agent:latest}"
base="node:20-bookworm-slim"
work="${TMPDIR:-/tmp}/concierge-agent-image-$(id -u)"
log() { printf '[sandbox:image] %s\n' "$*" >&2; }

mkdir -p "$work"
# One build at a time per machine user: parallel test workers may all ask for the image.
exec 9>"$work/lock"
flock 9

# Only the agent and what it references (protocol): a half-edited control plane must not block it.
log "compiling the agent"
(cd "$root" && npx --no-install tsc -b sandbox-image)

# The base: the real one when asked to pull, else one made from this machine's Node.
make_local_base() {
  local rootfs="$work/base-rootfs"
  local node_bin
  node_bin="$(command -v node)"
  log "no registry: making $base locally from $node_bin ($(node --version))"
  rm -rf "$rootfs"
  # A merged-/usr layout like Debian bookworm's, so library paths from ldd land where they belong.
  mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64,local/bin} "$rootfs"/{etc,tmp,root} "$rootfs/etc/ssl/certs"
  ln -s usr/bin "$rootfs/bin"; ln -s usr/sbin "$rootfs/sbin"; ln -s usr/lib "$rootfs/lib"; ln -s usr/lib64 "$rootfs/lib64"
  chmod 1777 "$rootfs/tmp"
  cp "$node_bin" "$rootfs/usr/local/bin/node"
  # A minimal /bin/sh (dash) as in the real image, for `docker exec sh`; the Dockerfile itself
  # uses exec-form RUN only, so a machine without dash still gets a working base.
  local shell
  shell="$(command -v dash || true)"
  if [ -n "$shell" ]; then
    cp "$shell" "$rootfs/usr/bin/dash"
    ln -s dash "$rootfs/usr/bin/sh"
  fi
  # Every shared library node, the shell and the native SQLite binding link against (glibc,
  # libstdc++). A static binary has none: ldd fails and contributes nothing.
  local native="$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
  local f
  for f in "$node_bin" $shell "$native"; do
    if [ -f "$f" ]; then ldd "$f" 2>/dev/null || true; fi
  done | { grep -oE '/[^ ]+\.so[^ ]*' || true; } | sort -u | while read -r lib; do
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"; fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/nonexistent:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$(node --version | tr -d v)" \
    --change 'LABEL org.concierge.local-base=true' \
    --change 'CMD ["node"]' \
    - "$base" >/dev/null
  rm -rf "$rootfs"
}
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ "${SANDBOX_PULL_BASE:-0}" = "1" ]; then
    docker pull -q "$base" >/dev/null
  else
    make_local_base
  fi
fi

log "preparing the build context"
ctx="$work/context"
node "$here/build-context.js" "$root" "$ctx" >&2
cp "$here/Dockerfile" "$here/.dockerignore" "$ctx/"

# Content hash of everything the image is made of, plus the base it is made on.
hash="$( (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; docker image inspect --format '{{.Id}}' "$base") | sha256sum | cut -c1-32)"
current="$(docker image inspect --format '{{index .Config.Labels "org.concierge.context-hash"}}' "$image" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then
  log "$image is up to date ($hash)"
  exit 0
fi

log "building $image"
previous="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
if ! docker build --label "org.concierge.context-hash=$hash" -t "$image" "$ctx" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  log "docker build failed (log above)"
  exit 1
fi
# The image it replaced is now untagged: drop it unless a container still uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
size="$(docker image inspect --format '{{.Size}}' "$image")"
log "built $image ($((size / 1024 / 1024)) MiB, context $hash)"
