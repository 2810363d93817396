#!/usr/bin/env bash
# Installs what the project needs on this machine: system packages (when
# root), Odoo 19 from ODOO_SOURCE into a virtual environment under the user's
# cache directory, and the addon's own Python packages and test tools.
#
#   ODOO_SOURCE  an Odoo 19 source tree, or an archive of one (path or URL).
#                Unset: reuse the existing environment, or download Odoo's
#                official 19.0 source archive when there is none.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# A compiler and headers build Odoo's psycopg2 and python-ldap; Node.js, curl
# and openssl run the documentation's client snippets in the tests;
# prometheus gives promtool, which checks the metrics exposition in the tests.
SYSTEM_PACKAGES=(build-essential python3-dev python3-venv libldap2-dev libsasl2-dev libpq-dev
                 chromium nodejs curl openssl prometheus)

ensure_system_packages() {
    local missing=()
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        die "missing system packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})"
    fi
    say "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

resolve_source() {
    # Prints an absolute path for a local source, the URL otherwise.
    local src="$1"
    case "$src" in
        http://* | https://*) echo "$src" ;;
        *) [ -e "$src" ] || die "ODOO_SOURCE does not exist: $src"
           (cd "$(dirname "$src")" && echo "$(pwd)/$(basename "$src")") ;;
    esac
}

unpack_source() {
    # Turns a source (tree, archive path or URL) into a tree; prints its path.
    local src="$1" digest dest archive
    if [ -d "$src" ]; then
        [ -f "$src/odoo-bin" ] && [ -d "$src/odoo" ] || die "$src is not an Odoo source tree (no odoo-bin)"
        echo "$src"
        return
    fi
    digest="$(printf '%s' "$src" | sha256sum | cut -c1-16)"
    dest="$CACHE_ROOT/odoo-src/$digest"
    if [ ! -f "$dest/.complete" ]; then
        rm -rf "$dest" && mkdir -p "$dest"
        archive="$src"
        if [[ "$src" == http* ]]; then
            archive="$CACHE_ROOT/odoo-src/$digest.tar.gz"
            say "downloading $src"
            curl -fL --retry 3 -o "$archive" "$src" || die "could not download $src; set ODOO_SOURCE to a local Odoo 19 tree"
        fi
        say "unpacking $archive"
        tar -xf "$archive" -C "$dest" --strip-components=1 || die "could not unpack $archive"
        [ -f "$dest/odoo-bin" ] || die "$src holds no Odoo source tree"
        touch "$dest/.complete"
    fi
    echo "$dest"
}

quietly() {
    # Runs a noisy installer, showing its output only when it fails.
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

build_venv() {
    local src="$1" tree
    tree="$(unpack_source "$src")"
    say "building the Odoo environment in $VENV from $tree (about a minute)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # Some of Odoo's pinned packages build from source with a setup.py that
    # still imports pkg_resources, which setuptools 81 removed: build them
    # with the environment's own older setuptools.
    quietly "$PY" -m pip install --upgrade pip wheel 'setuptools<81' setuptools_scm
    quietly "$PY" -m pip install --no-build-isolation -r "$tree/requirements.txt"
    # --no-deps keeps Odoo's lxml pin; compat mode keeps odoo.addons a real
    # directory so Odoo accepts it on the addons path.
    quietly "$PY" -m pip install --no-deps -e "$tree" --config-settings editable_mode=compat
    echo "$tree" > "$VENV/.odoo_tree"
    echo "$src" > "$VENV/.odoo_source"
}

install_project_packages() {
    local stamp="$VENV/.project_requirements" want
    want="$(cat "$REPO_ROOT/requirements.txt" "$REPO_ROOT/tools/requirements-dev.txt" | sha256sum)"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    say "installing the addon's Python packages and test tools"
    quietly "$PY" -m pip install -r "$REPO_ROOT/requirements.txt" -r "$REPO_ROOT/tools/requirements-dev.txt"
    echo "$want" > "$stamp"
}

main() {
    ensure_system_packages
    mkdir -p "$CACHE_ROOT"
    local src=""
    if [ -n "${ODOO_SOURCE:-}" ]; then
        src="$(resolve_source "$ODOO_SOURCE")"
    elif [ ! -f "$VENV/.odoo_source" ]; then
        src="$DEFAULT_ODOO_SOURCE"
    fi
    if [ -n "$src" ] && { [ ! -f "$VENV/.odoo_source" ] || [ "$(cat "$VENV/.odoo_source")" != "$src" ] \
            || [ ! -x "$PY" ] || [ ! -f "$(cat "$VENV/.odoo_tree" 2>/dev/null)/odoo-bin" ]; }; then
        build_venv "$src"
    fi
    [ -d "$(odoo_tree)/addons/base_automation" ] || die "the Odoo tree $(odoo_tree) has no addons/base_automation: set ODOO_SOURCE to an Odoo 19 source tree"
    install_project_packages
    link_addon
}

main "$@"
