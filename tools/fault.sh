#!/usr/bin/env bash
# The fault-injection suite (fault/), at full size: real Odoo servers killed
# with SIGKILL, a receiver going down, a private PostgreSQL restarted, a
# thousand concurrent clients, a thousand bad incoming requests. It builds
# its own template database (the addon installed once) and drops everything
# it made. Ends with pytest's summary and the figures measured.
#
#   IG_FAULT_SCALE  full (default) or short (the sizes `make test` runs)
#   IG_PORTS        low-high: the ports its servers may listen on
#                   (default: any free port)
#   extra arguments are passed to pytest (e.g. -k kill)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$REPO_ROOT/tools/postgres.sh"

"$REPO_ROOT/tools/setup.sh"
ensure_postgres

export IG_FAULT_SCALE="${IG_FAULT_SCALE:-full}" IG_FORBID_SKIPS=1
export PYTHONPATH="$REPO_ROOT/tools${PYTHONPATH:+:$PYTHONPATH}"
cd "$REPO_ROOT"
# Odoo runs in the servers the tests start, not in pytest's process.
exec "$PY" -m pytest -p no:odoo -p no:cacheprovider -p pytest_fault -p pytest_strict \
    fault "$@"
