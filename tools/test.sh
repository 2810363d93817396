#!/usr/bin/env bash
# Runs every check of the project: lint, a fresh test database with the addon
# installed, then the whole suite (Odoo tests in the database, HTTP tests
# against the real server, browser tours in Chromium, and the plain unit
# tests of the ORM-free core, and the short version of the fault-injection
# suite in fault/) through pytest. Ends with pytest's summary.
#
#   IG_TEST_DB  test database name (default: integration_gateway_test)
#   IG_REUSE_DB=1  update the addon in an existing test database instead of
#               building a fresh one (quicker while developing)
#   IG_SKIP_LINT=1  skips the lint step (quicker while developing; the test
#               command itself always lints)
#   IG_EXTRA_MODULES  modules installed beside the addon, comma-separated
#               (make screenshots: sale_management, whose sales orders the
#               scenarios show); give such a database a name of its own
#   extra arguments are passed to pytest (e.g. -k rotation)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$REPO_ROOT/tools/postgres.sh"

DB="${IG_TEST_DB:-integration_gateway_test}"
CONF="$BUILD_DIR/odoo-test.conf"
INSTALL_LOG="$BUILD_DIR/install.log"

step() { say "$1 ($(( SECONDS - STEP_START ))s so far)"; }
STEP_START=$SECONDS

"$REPO_ROOT/tools/setup.sh"
ensure_postgres
write_odoo_config "$CONF" "${IG_TEST_PORT:-8169}"
step "set-up done"

cd "$REPO_ROOT"
if [ "${IG_SKIP_LINT:-}" != 1 ] || [ -n "${CI:-}" ]; then
    "$VENV/bin/ruff" check --no-fix --quiet .
    "$VENV/bin/ruff" format --check --quiet .
    # pylint finds the addon as a package only under its technical name.
    (cd "$LINT_LINK_DIR" && "$VENV/bin/pylint" --rcfile="$REPO_ROOT/.pylintrc-mandatory" "$ADDON_NAME")
    step "lint passed"
fi

INSTALL=(-i "$ADDON_NAME${IG_EXTRA_MODULES:+,$IG_EXTRA_MODULES}") DONE="installed in a fresh"
if [ "${IG_REUSE_DB:-}" = 1 ] && "$PY" -c "import psycopg2; psycopg2.connect(dbname='$DB').close()" 2>/dev/null; then
    INSTALL=(-u "$ADDON_NAME") DONE="updated in the existing"
else
    "$PY" "$REPO_ROOT/tools/dropdb.py" "$DB"
fi
rm -f "$INSTALL_LOG"
"$PY" "$(odoo_tree)/odoo-bin" -c "$CONF" -d "$DB" "${INSTALL[@]}" --stop-after-init \
    --log-level=info --logfile="$INSTALL_LOG" \
    || die "installing $ADDON_NAME failed; see $INSTALL_LOG"
step "$ADDON_NAME $DONE database $DB"

# The fault tests start servers of their own on copies of this fresh
# database (a copy needs nobody connected to its source: made now, before
# pytest connects to it), at the short sizes.
FAULT_TEMPLATE="ig_faults_${DB#ig_test_}_template"
"$PY" - "$DB" "$FAULT_TEMPLATE" <<'PYEOF'
import sys
sys.path.insert(0, "tools")
import harness
harness.clone_database(sys.argv[1], sys.argv[2])
PYEOF
export IG_TEST_DB="$DB" IG_FAULT_SCALE=short IG_FAULT_TEMPLATE="$FAULT_TEMPLATE" \
    IG_FAULT_FILESTORE="$CACHE_ROOT/data/filestore/$DB" IG_FAULT_TEMPLATE_DROP=1
step "fault-test template $FAULT_TEMPLATE copied"

export IG_INSTALL_LOG="$INSTALL_LOG" IG_FORBID_SKIPS=1
# The project's tools and the examples are imported as modules by the tests.
export PYTHONPATH="$REPO_ROOT/tools:$REPO_ROOT/examples${PYTHONPATH:+:$PYTHONPATH}"
# From the addons folder, so that pytest sees the addon under its technical
# name (it would otherwise resolve the link to the checkout's folder name).
cd "$ADDONS_LINK_DIR"
exec "$PY" -m pytest -p no:cacheprovider -p pytest_strict -p pytest_isolation \
    --odoo-config="$CONF" --odoo-database="$DB" --odoo-http --odoo-log-level=warn \
    "$ADDON_NAME/tests" "$ADDON_NAME/fault" "$@"
