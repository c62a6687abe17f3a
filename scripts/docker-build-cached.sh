#!/usr/bin/env bash
# Builds a prepared, registry-free Docker build context into an image, skipped when the image
# already carries the context's content hash (label org.concierge.context-hash, which also covers
# the base image's id); the image it replaces is removed unless a container still uses it.
#
#   scripts/docker-build-cached.sh <image> <context-dir> <base-image> <log-tag>
set -euo pipefail
image="$1" ctx="$2" base="$3" tag="$4"
log() { printf '[%s] %s\n' "$tag" "$*" >&2; }

hash="$( (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; docker image inspect --format '{{.Id}}' "$base") | sha256sum | cut -c1-32)"
current="$(docker image inspect --format '{{index .Config.Labels "org.concierge.context-hash"}}' "$image" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then
  log "$image is up to date ($hash)"
  exit 0
fi

log "building $image"
previous="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT
if ! docker build --label "org.concierge.context-hash=$hash" -t "$image" "$ctx" >"$build_log" 2>&1; then
  cat "$build_log" >&2
  log "docker build failed (log above)"
  exit 1
fi
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
size="$(docker image inspect --format '{{.Size}}' "$image")"
log "built $image ($((size / 1024 / 1024)) MiB, context $hash)"
