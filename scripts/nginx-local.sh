#!/usr/bin/env bash
# Writes a self-contained nginx config in DIR that includes the shipped deploy/nginx.conf,
# with the socket path and the listen address replaced, and every path under DIR.
# Usage: scripts/nginx-local.sh DIR SOCKET LISTEN   (e.g. /tmp/x /tmp/x/app.sock 127.0.0.1:8080)
set -euo pipefail
dir=$1; sock=$2; listen=$3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
cp /etc/nginx/fastcgi_params "$dir/fastcgi_params"
sed -e "s#unix:/run/teleconsultation-backend.sock#unix:$sock#" -e "s#listen 8080;#listen $listen;#" \
    "$root/deploy/nginx.conf" > "$dir/site.conf"
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
