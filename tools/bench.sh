#!/usr/bin/env bash
# Every benchmark of bench/ on one Odoo server, and one table of figures
# (see bench/run_all.py; its options are passed on, e.g. --reuse).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$REPO_ROOT/tools/postgres.sh"

"$REPO_ROOT/tools/setup.sh"
ensure_postgres
cd "$REPO_ROOT"
exec "$PY" bench/run_all.py "$@"
