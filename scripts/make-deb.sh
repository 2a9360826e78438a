#!/usr/bin/env bash
# Builds the Debian package with dpkg-deb alone (no debhelper): the binary, the systemd units,
# the nginx profiles (the edge one in /etc/nginx/conf.d, disabled until enabled), an
# environment file template and the example config as conffiles, and the script that makes
# the peer secret (run by the postinst).
# Usage: scripts/make-deb.sh [BINARY] [OUTDIR]   (default: the release build, ./dist)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$("$root/scripts/build-release.sh")}
out=${2:-$root/dist}
name=teleconsultation-backend
version=$(grep -o 'version = "[^"]*"' "$root/Sources/TeleconsultationService/HTTP/Application.swift" | head -1 | cut -d'"' -f2)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d /tmp/$name-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/$name"
doc="$pkg/usr/share/doc/$name"

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/$name" "$pkg/etc/nginx/conf.d" "$doc" \
    "$pkg/usr/share/man/man8" "$pkg/usr/share/lintian/overrides" "$pkg/usr/lib/$name"
install -m 0755 "$bin" "$pkg/usr/bin/$name"
install -m 0755 "$root/deploy/debian/peer-secret" "$pkg/usr/lib/$name/peer-secret"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/$name"
for unit in "$root"/deploy/systemd/*.service "$root"/deploy/systemd/*.socket "$root"/deploy/systemd/*.timer; do
    [ -e "$unit" ] && install -m 0644 "$unit" "$pkg/lib/systemd/system/"
done
install -m 0640 "$root/deploy/debian/env" "$pkg/etc/$name/env"
install -m 0644 "$root/deploy/debian/config.json" "$pkg/etc/$name/config.json"
# The edge profile, present but not included by nginx (conf.d/*.conf) until the operator
# enables it (the README's step): ln -s teleconsultation-backend.conf.disabled /etc/nginx/conf.d/teleconsultation-backend.conf
# It stays a conffile: the operator's changes are kept, and upgrades of it are offered.
install -m 0644 "$root/deploy/nginx.conf" "$pkg/etc/nginx/conf.d/$name.conf.disabled"
install -m 0644 "$root/deploy/nginx.conf" "$doc/nginx-edge.conf"
install -m 0644 "$root/deploy/nginx-behind-gateway.conf" "$doc/nginx-behind-gateway.conf"
install -m 0644 "$root/deploy/debian/copyright" "$doc/copyright"
gzip -9n -c "$root/deploy/debian/$name.8" > "$pkg/usr/share/man/man8/$name.8.gz"
install -m 0644 "$root/deploy/debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/$name"
gzip -9n -c "$root/README.md" > "$doc/README.md.gz"
date=$(git -C "$root" log -1 --format=%cD 2>/dev/null || date -R)
printf '%s (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- teleconsultation-backend maintainers <maintainers@teleconsultation-backend.invalid>  %s\n' \
    "$name" "$version" "$version" "$date" | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc"/* "$pkg/usr/share/man/man8/$name.8.gz" "$pkg/usr/share/lintian/overrides/$name"

cat > "$pkg/DEBIAN/conffiles" <<CONF
/etc/$name/env
/etc/$name/config.json
/etc/nginx/conf.d/$name.conf.disabled
CONF
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: teleconsultation-backend maintainers <maintainers@teleconsultation-backend.invalid>
Installed-Size: $size
Depends: libc6 (>= 2.36), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), zlib1g (>= 1:1.2.0), libfcgi0ldbl (>= 2.4.2-2+deb12u1), init-system-helpers (>= 1.54)
Recommends: nginx
Section: net
Priority: optional
Homepage: https://www.kaleyra.com/video/
Description: schedules video consultations between doctors and patients
 A FastCGI application behind nginx, managed by systemd: a clinic's frontend
 creates teleconsultations, fills in participants and asks for each person's
 personal join link; the service keeps the record in a CRUD service and creates
 users and rooms on the Kaleyra Video (Bandyer) REST API.
CONTROL

cat > "$pkg/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
# The units are installed, not enabled: write /etc/teleconsultation-backend/env first, then
#   systemctl enable --now teleconsultation-backend.socket
if [ "$1" = "configure" ]; then
    # The secret nginx proves itself with: made on the first install, kept across upgrades.
    /usr/lib/teleconsultation-backend/peer-secret
    site=/etc/nginx/conf.d/teleconsultation-backend.conf
    if [ -f "$site" ] && ! grep -q 'include /etc/teleconsultation-backend/nginx-peer-secret.conf;' "$site"; then
        echo "teleconsultation-backend: $site does not include /etc/teleconsultation-backend/nginx-peer-secret.conf;" >&2
        echo "  the app refuses every request without it (403): see teleconsultation-backend.conf.disabled" >&2
    fi
fi
if [ "$1" = "configure" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
exit 0
SCRIPT
cat > "$pkg/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && { [ "$1" = "remove" ] || [ "$1" = "upgrade" ]; }; then
    deb-systemd-invoke stop teleconsultation-backend-sweep.timer teleconsultation-backend-sweep.service \
        teleconsultation-backend.socket teleconsultation-backend.service >/dev/null || true
fi
exit 0
SCRIPT
cat > "$pkg/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "purge" ]; then
    # Whatever enabled the units or the nginx profile, purging leaves none of it behind.
    for link in /etc/systemd/system/*.wants/teleconsultation-backend*; do
        [ -L "$link" ] && rm -f "$link"
    done
    # The enabled edge profile: the README's link (to the .disabled conffile dpkg has just
    # removed), or a copy of a shipped profile (the 1.0.0 README renamed the .disabled file;
    # the gateway profile is copied): it includes the peer secret file removed below, so
    # nginx would no longer load with it.
    site=/etc/nginx/conf.d/teleconsultation-backend.conf
    if [ -L "$site" ]; then
        rm -f "$site"
    elif [ -f "$site" ] && { head -n 1 "$site" | grep -q '^# teleconsultation-backend behind nginx' \
                              || grep -q 'include /etc/teleconsultation-backend/nginx-peer-secret.conf;' "$site"; }; then
        rm -f "$site"
    fi
    # The peer secret (made by the postinst, not dpkg's to remove).
    rm -f /etc/teleconsultation-backend/peer-secret /etc/teleconsultation-backend/nginx-peer-secret.conf \
        /etc/teleconsultation-backend/peer-secret.new /etc/teleconsultation-backend/nginx-peer-secret.conf.new
    rmdir /etc/teleconsultation-backend 2>/dev/null || true
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper purge teleconsultation-backend.socket teleconsultation-backend.service \
            teleconsultation-backend-sweep.timer teleconsultation-backend-sweep.service >/dev/null || true
    fi
fi
exit 0
SCRIPT
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles"
mkdir -p "$out"
deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$pkg" "$deb" >&2
echo "$deb"
