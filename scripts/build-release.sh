#!/usr/bin/env bash
# The release binary: optimised, the Swift runtime and Foundation linked in, so it runs on a
# plain Debian 12 with only Debian's own libraries (libc, libstdc++, zlib, libfcgi). Prints
# its path. One scratch path for make release, make deb, make bench and the package tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift build -c release --static-swift-stdlib --product teleconsultation-backend --scratch-path .build-release >&2
echo "$root/.build-release/release/teleconsultation-backend"
