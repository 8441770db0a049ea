#!/usr/bin/env bash
# Builds the ferrograph Docker image FROM scratch: no base image, nothing pulled.
#
#   docker/build-image.sh                 # tags ferrograph:latest
#   FERROGRAPH_IMAGE=ferrograph:dev docker/build-image.sh
#
# Builds the release binaries first if they are missing (`cargo build --release -p server` /
# `-p console`), then assembles a build context in a temporary directory: the server at
# /usr/bin/ferrograph and the shell beside it at /usr/bin/ferrograph-console (so
# `docker exec -it <container> ferrograph-console` works), every shared library they link and
# the dynamic loader (from `ldd`, at the same paths), a minimal
# /etc/passwd and /etc/group with the `ferrograph` user (uid/gid 999), /etc/nsswitch.conf,
# /tmp, and the empty data directory /var/lib/ferrograph; and runs `docker build` with
# docker/Dockerfile. The debug info is stripped from the image's copies of the binaries
# (symbols are kept, so a panic's backtrace still names its functions).
#
# Environment:
#   FERROGRAPH_IMAGE  the tag (default ferrograph:latest)
#   FERROGRAPH_BIN    the binary to put in the image (default <target>/release/ferrograph)
#   FERROGRAPH_CONSOLE_BIN  the shell to put beside it (default: ferrograph-console in the
#                     directory of FERROGRAPH_BIN)
#   CARGO_TARGET_DIR  cargo's target directory (default <repo>/target)
#   DOCKER            the docker command (default docker)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${FERROGRAPH_BIN:-$TARGET_DIR/release/ferrograph}"
TAG="${FERROGRAPH_IMAGE:-ferrograph:latest}"
DOCKER="${DOCKER:-docker}"
USER_ID=999 # also in docker/Dockerfile (COPY --chown, USER)

if [[ ! -x "$BIN" ]]; then
    if [[ -n "${FERROGRAPH_BIN:-}" ]]; then
        echo "error: FERROGRAPH_BIN=$BIN is not an executable" >&2
        exit 1
    fi
    echo "building the release binary (cargo build --release -p server)"
    (cd "$ROOT" && cargo build --release -p server)
fi
CONSOLE_BIN="${FERROGRAPH_CONSOLE_BIN:-$(dirname "$BIN")/ferrograph-console}"
if [[ ! -x "$CONSOLE_BIN" ]]; then
    if [[ -n "${FERROGRAPH_CONSOLE_BIN:-}" || "$(dirname "$BIN")" != "$TARGET_DIR/release" ]]; then
        echo "error: the console binary $CONSOLE_BIN is not an executable" >&2
        echo "(build it with \`cargo build --release -p console\` or set FERROGRAPH_CONSOLE_BIN)" >&2
        exit 1
    fi
    echo "building the console (cargo build --release -p console)"
    (cd "$ROOT" && cargo build --release -p console)
fi

CONTEXT=$(mktemp -d "${TMPDIR:-/tmp}/ferrograph-image.XXXXXX")
trap 'rm -rf "$CONTEXT"' EXIT
ROOTFS="$CONTEXT/rootfs"
mkdir -p "$ROOTFS/usr/bin" "$ROOTFS/etc" "$CONTEXT/data"
mkdir -m 1777 "$ROOTFS/tmp"
chmod 0755 "$ROOTFS" "$ROOTFS/usr" "$ROOTFS/usr/bin" "$ROOTFS/etc" "$CONTEXT/data"

cp "$BIN" "$ROOTFS/usr/bin/ferrograph"
cp "$CONSOLE_BIN" "$ROOTFS/usr/bin/ferrograph-console"
for installed in "$ROOTFS/usr/bin/ferrograph" "$ROOTFS/usr/bin/ferrograph-console"; do
    if command -v strip >/dev/null 2>&1; then
        strip --strip-debug "$installed"
    fi
    chmod 0755 "$installed"
done

# The shared libraries and the loader, each at the path the binaries find them at on this
# machine (copied through symlinks). `ldd` prints `name => /path (addr)` for a library and
# `/path (addr)` for the loader; a statically linked binary needs none.
LIBS=""
for binary in "$BIN" "$CONSOLE_BIN"; do
    THESE=$(ldd "$binary" 2>&1 || true)
    if grep -q 'not found' <<<"$THESE"; then
        echo "error: $binary links a library this machine does not have:" >&2
        echo "$THESE" >&2
        exit 1
    fi
    LIBS+="$THESE"$'\n'
done
while read -r lib; do
    [[ -z "$lib" ]] && continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
    echo "  + $lib"
done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$LIBS" | sort -u)
# The loader is found by the absolute path in each binary's program header: check it is there.
for binary in "$BIN" "$CONSOLE_BIN"; do
    INTERP=$(readelf -l "$binary" 2>/dev/null | sed -nE 's/.*Requesting program interpreter: ([^]]+)].*/\1/p' || true)
    if [[ -n "$INTERP" && ! -e "$ROOTFS$INTERP" ]]; then
        mkdir -p "$ROOTFS$(dirname "$INTERP")"
        cp -L "$INTERP" "$ROOTFS$INTERP"
        echo "  + $INTERP"
    fi
done

cat >"$ROOTFS/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
ferrograph:x:$USER_ID:$USER_ID:ferrograph:/var/lib/ferrograph:/sbin/nologin
PASSWD
cat >"$ROOTFS/etc/group" <<GROUP
root:x:0:
ferrograph:x:$USER_ID:
GROUP
# Replica addresses may be host names (`REGISTER REPLICA R SYNC TO "replica1:10000"`): glibc
# resolves them with /etc/hosts and Docker's DNS (resolv.conf), both mounted by Docker.
echo "hosts: files dns" >"$ROOTFS/etc/nsswitch.conf"
chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group" "$ROOTFS/etc/nsswitch.conf"

cp "$ROOT/docker/Dockerfile" "$CONTEXT/Dockerfile"

# Docker's CLI uses BuildKit when the buildx plugin is there; the classic builder does the same
# with this Dockerfile (and is the only one without the plugin).
if ! "$DOCKER" buildx version >/dev/null 2>&1; then
    export DOCKER_BUILDKIT=0
fi
echo "building $TAG from $CONTEXT"
"$DOCKER" build --tag "$TAG" "$CONTEXT"
