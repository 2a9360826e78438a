#!/usr/bin/env bash
# Writes a self-contained nginx config in DIR around one of the shipped nginx profiles, with
# only the socket path, the listen address and the peer secret file replaced, and every path
# under DIR.
# Usage: [PEER_SECRET=S] scripts/nginx-local.sh DIR SOCKET LISTEN [edge|gateway|FILE]
#   LISTEN: a port (only the port of the shipped listen line is replaced, as in the tests),
#   or HOST:PORT (the whole address, e.g. 127.0.0.1:8080 for make run)
#   PEER_SECRET: the secret nginx sends the app (its FCGI_PEER_SECRET_FILE's); unset: none,
#   for an app that requires none (make run, most tests)
set -euo pipefail
dir=$1; sock=$2; listen=$3; profile=${4:-edge}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$profile" in
    edge) file="$root/deploy/nginx.conf" ;;
    gateway) file="$root/deploy/nginx-behind-gateway.conf" ;;
    *) [ -f "$profile" ] || { echo "unknown profile $profile (edge, gateway or a file)" >&2; exit 2; }
       file=$profile ;;
esac
mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
cp /etc/nginx/fastcgi_params "$dir/fastcgi_params"
if [[ "$listen" == *:* ]]; then
    address="s#^    listen (127\.0\.0\.1:)?8080;#    listen $listen;#"
else
    address="s#^    listen (127\.0\.0\.1:)?8080;#    listen \1$listen;#"
fi
# What the package writes into /etc/teleconsultation-backend/nginx-peer-secret.conf, here.
(
    umask 077
    if [ -n "${PEER_SECRET:-}" ]; then
        printf 'fastcgi_param TELECONSULTATION_PEER_SECRET "%s";\n' "$PEER_SECRET"
    else
        echo "# no peer secret: the app requires none"
    fi > "$dir/peer-secret.conf"
)
sed -E -e "s#unix:/run/teleconsultation-backend.sock#unix:$sock#" -e "$address" \
    -e "s#include /etc/teleconsultation-backend/nginx-peer-secret.conf;#include $dir/peer-secret.conf;#" "$file" > "$dir/site.conf"
grep -qE "^    listen (127\.0\.0\.1:)?${listen#*:};|^    listen $listen;" "$dir/site.conf" \
    || { echo "nginx-local: no listen line replaced in $file" >&2; exit 1; }
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat > "$dir/nginx.conf" <<CONF
$user_line
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/site.conf;
}
CONF
