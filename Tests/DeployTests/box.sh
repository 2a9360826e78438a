# A Debian 12 container booted with systemd as its PID 1, for the deploy test (sourced by
# deploy-test.sh). This machine's init is not systemd, so the units are tested in here: the
# root file system comes from Debian's registry with debootstrap (made once, cached outside the
# repository), each run boots a fresh copy with systemd-nspawn, and the container shares the
# host's network (its nginx listens on the host's loopback; it reaches the stand-ins there).

box_cache=${DEPLOY_TEST_CACHE:-/var/cache/teleconsultation-backend-test}

# The cached root file system: minimal Debian 12 with systemd, nginx and curl. Nothing of
# ours is in it: the package under test is installed into each copy.
box_rootfs() {
    local rootfs="$box_cache/rootfs-bookworm"
    if [ -f "$rootfs/.complete" ]; then echo "$rootfs"; return; fi
    local mirror
    # The machine's own Debian mirror (a URIs: or deb line, not a comment), else Debian's.
    mirror=$(grep -rhE '^[[:space:]]*(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE 'https?://[^ ]*debian[^ ]*' | grep -v security | grep -m1 . || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    mkdir -p "$box_cache"
    rm -rf "$rootfs.partial"
    echo "deploy test: making the Debian 12 root file system once (debootstrap from $mirror)" >&2
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,nginx,curl,ca-certificates \
        bookworm "$rootfs.partial" "$mirror" >"$box_cache/debootstrap.log" 2>&1 \
        || { tail -20 "$box_cache/debootstrap.log" >&2; return 1; }
    rm -f "$rootfs.partial/etc/nginx/sites-enabled/default"   # port 80 is not ours to take
    echo deploy-test >"$rootfs.partial/etc/hostname"
    touch "$rootfs.partial/.complete"
    mv "$rootfs.partial" "$rootfs"
    echo "$rootfs"
}

# box_boot DIR: a fresh copy of the root file system in DIR/root, booted; waits until systemd
# says the system is up.
box_boot() {
    local dir=$1
    cp -a "$(box_rootfs)" "$dir/root"
    setsid systemd-nspawn --quiet --register=no --keep-unit --directory="$dir/root" --boot --console=pipe \
        >"$dir/console.log" 2>&1 </dev/null &
    echo $! >"$dir/nspawn.pid"
    local state
    for _ in $(seq 600); do
        if box_pid1 "$dir" >/dev/null; then
            state=$(box_run "$dir" systemctl is-system-running 2>/dev/null || true)
            case "$state" in running | degraded) return 0 ;; esac
        fi
        kill -0 "$(cat "$dir/nspawn.pid")" 2>/dev/null || { tail -20 "$dir/console.log" >&2; return 1; }
        sleep 0.1
    done
    echo "deploy test: the container did not finish booting" >&2
    return 1
}

# The container's PID 1 as the host sees it (the child of systemd-nspawn).
box_pid1() {
    local nspawn
    nspawn=$(cat "$1/nspawn.pid" 2>/dev/null) || return 1
    kill -0 "$nspawn" 2>/dev/null || return 1
    pgrep -P "$nspawn" | head -1
}

# box_run DIR CMD...: CMD inside the container, as root, in all its namespaces.
box_run() {
    local dir=$1 pid
    shift
    pid=$(box_pid1 "$dir") || return 1
    nsenter --target "$pid" --mount --uts --ipc --pid --net -- "$@"
}

# box_remove DIR: powered off (killed if it will not), and its files removed.
box_remove() {
    local dir=$1 nspawn
    nspawn=$(cat "$dir/nspawn.pid" 2>/dev/null || true)
    if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
        box_run "$dir" systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$nspawn" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir"
}
