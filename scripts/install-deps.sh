#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when missing (runs as root, or
# with sudo). libfcgi-dev: libfcgi, which speaks FastCGI for the app (headers, pkg-config, the
# library; libfcgi0ldbl comes with it); nginx: the front; curl for make run.
# With --test also what the tests use: libfcgi-bin (cgi-fcgi) and apache2-bin (mod_proxy_fcgi),
# two more FastCGI clients; lintian (the package check),
# debootstrap and systemd-container (the deploy test's Debian 12 container under systemd),
# python3 and openssl (the outbound tests' proxy, relay and TLS peers, and their certificates).
# python3-venv is part of the base image (schemathesis and the OpenAPI validator come from
# PyPI into .build/venv).
set -euo pipefail
pkgs=(libfcgi-dev nginx curl)
[ "${1:-}" = "--test" ] && pkgs+=(libfcgi-bin apache2-bin lintian debootstrap systemd-container python3 openssl)
need=()
for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts nginx on port 80 where it can; the project runs its own instances.
fi
