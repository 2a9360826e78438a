#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when missing (runs as root,
# or with sudo). libfcgi-dev: the FastCGI library; libfcgi-bin: cgi-fcgi for tests;
# nginx: the front; python3-venv is part of the base image (schemathesis and the OpenAPI
# validator come from PyPI into .build/venv).
set -euo pipefail
need=()
for pkg in libfcgi-dev libfcgi-bin nginx curl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts nginx on port 80 where it can; the project runs its own instances.
fi
