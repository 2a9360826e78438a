#!/usr/bin/env bash
# Runs every test: installs what is missing (apt packages, the PyPI tools into .build/venv),
# builds the debug build with its tests and the release binary the package is made of, then
# runs the unit and end-to-end suites.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)

"$root/scripts/install-deps.sh" --test

# PyPI tools the end-to-end tests call: the OpenAPI validator and the schemathesis fuzzer.
if [ ! -x .build/venv/bin/schemathesis ] || ! .build/venv/bin/python -c "import openapi_spec_validator" 2>/dev/null; then
    mkdir -p .build
    python3 -m venv .build/venv
    .build/venv/bin/pip install -q --disable-pip-version-check "openapi-spec-validator>=0.7" "schemathesis==4.32.5"
fi

echo "== build (debug, with tests)"
swift build --build-tests
built=$(date +%s)
echo "== build took $((built - start)) s"
echo "== release binary (static Swift runtime: what the package ships)"
release=$("$root/scripts/build-release.sh")
released=$(date +%s)
echo "== release build took $((released - built)) s"

echo "== tests"
# The suites use Swift Testing. Without an XCTest test in the package, XCTest's runner only
# adds two "Executed 0 tests" summaries to the output: it runs when one is added.
xctest=(--disable-xctest)
if grep -rq --include='*.swift' '^import XCTest' Tests; then xctest=(); fi
RELEASE_BIN="$release" BIN_PATH="$(swift build --show-bin-path)" swift test --skip-build "${xctest[@]}"
echo "== tests took $(( $(date +%s) - released )) s (total $(( $(date +%s) - start )) s)"
