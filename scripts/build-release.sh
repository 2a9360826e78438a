#!/usr/bin/env bash
# The release binary: optimised, the Swift runtime and Foundation linked in, so it runs on a
# plain Debian 12 with no Swift toolchain: it needs only libc (with libm and the loader),
# libstdc++, libgcc_s, zlib (swift-nio-extras, under AsyncHTTPClient, links it) and libfcgi
# (libfcgi.so.0 from libfcgi0ldbl, linked dynamically: it speaks FastCGI and gets Debian's
# security updates), the package's Depends. Prints its path on stdout, and on stderr the libraries it needs as the linker
# recorded them, so that list is never a guess. One scratch path for make release, make deb,
# make bench and the package tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift build -c release --static-swift-stdlib --product teleconsultation-backend --scratch-path .build-release >&2
bin="$root/.build-release/release/teleconsultation-backend"
if command -v readelf >/dev/null; then
    echo "release binary needs: $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" >&2
fi
echo "$bin"
