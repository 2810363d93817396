# Shared settings for the project's commands; sourced, never run.
# shellcheck shell=bash

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDON_NAME="integration_gateway"

CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/integration_gateway"
VENV="${IG_VENV:-$CACHE_ROOT/venv}"
PY="$VENV/bin/python"

# Odoo's official 19.0 source archive, used when nothing else is named.
DEFAULT_ODOO_SOURCE="https://github.com/odoo/odoo/archive/refs/heads/19.0.tar.gz"

# The addons path holds the addon under its technical name, whatever the
# checkout folder is called, so that tests import as odoo.addons.<name>.
BUILD_DIR="$REPO_ROOT/.build"
ADDONS_LINK_DIR="$BUILD_DIR/addons"
ADDON_PATH="$ADDONS_LINK_DIR/$ADDON_NAME"
# pylint walks a package without following links, so it gets a link to the
# checkout itself, kept outside of it (see link_addon).
LINT_LINK_DIR="$CACHE_ROOT/lint/$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16)"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

link_addon() {
    # A folder of links to the checkout's entries rather than a link to the
    # checkout, which holds this folder: tools that walk the addon following
    # links (Odoo's translation export) would go round in circles.
    mkdir -p "$ADDONS_LINK_DIR"
    [ -L "$ADDON_PATH" ] && rm "$ADDON_PATH"
    mkdir -p "$ADDON_PATH"
    local entry link
    for entry in "$REPO_ROOT"/*; do
        ln -sfn "$entry" "$ADDON_PATH/$(basename "$entry")"
    done
    for link in "$ADDON_PATH"/*; do
        [ -e "$link" ] || rm -f "$link"
    done
    mkdir -p "$LINT_LINK_DIR"
    ln -sfn "$REPO_ROOT" "$LINT_LINK_DIR/$ADDON_NAME"
}

odoo_tree() {
    # The Odoo source tree the virtual environment was built from.
    cat "$VENV/.odoo_tree"
}

odoo_addons_path() {
    echo "$(odoo_tree)/addons,$ADDONS_LINK_DIR"
}
