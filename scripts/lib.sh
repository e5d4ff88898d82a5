# Shared helpers for scripts/*: sourced, not run.
# shellcheck shell=bash

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs Debian packages for the commands named (as `command:package`) that
# are missing: as root via apt-get, else says in one line how to.
ensure_commands() {
    local missing=() pair cmd pkg
    for pair in "$@"; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${missing[*]} (apt-get)"
        apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    else
        die "missing ${missing[*]}: sudo apt-get install ${missing[*]} (or brew install ${missing[*]})"
    fi
}

# redis-server (and redis-cli, from the same package). Debian may start a
# service on install; tests never use it (each starts its own server).
ensure_redis_server() {
    ensure_commands redis-server:redis-server redis-cli:redis-tools
}

# What the test suite needs besides Redis: tmux drives the real monitor in the
# end-to-end test; openssl makes the TLS test's certificates.
ensure_test_tools() {
    ensure_redis_server
    ensure_commands tmux:tmux openssl:openssl ssh:openssh-client
}

ensure_cargo() {
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed: see https://rustup.rs"
}

# A Redis URL without its password, for messages.
redact_url() {
    printf '%s' "$1" | sed -E 's#^([a-z]+://)([^:@/]*):[^@/]*@#\1\2:***@#'
}
