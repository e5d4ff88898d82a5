# Shared helpers for scripts/*: sourced, not run.
# shellcheck shell=bash

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs redis-server when missing (as root via apt-get), or says how to.
ensure_redis_server() {
    command -v redis-server >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing redis-server (apt-get)"
        apt-get update -qq >/dev/null && apt-get install -y -qq redis-server >/dev/null \
            || die "apt-get install redis-server failed"
        # Debian starts a service on install in some images; we never use it in tests.
    else
        die "redis-server is not installed: sudo apt-get install redis-server (or brew install redis)"
    fi
}

ensure_cargo() {
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed: see https://rustup.rs"
}
