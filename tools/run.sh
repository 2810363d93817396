#!/usr/bin/env bash
# Runs Odoo with the addon installed, on a local database it creates if absent.
#
#   IG_DB       database name (default: integration_gateway)
#   IG_PORT     HTTP port (default: 8069)
#   IG_WORKERS  prefork worker processes (default: 0, threaded mode, which
#               serves the browser's websocket without a proxy)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$REPO_ROOT/tools/postgres.sh"

DB="${IG_DB:-integration_gateway}"
PORT="${IG_PORT:-8069}"
WORKERS="${IG_WORKERS:-0}"
CONF="$BUILD_DIR/odoo-run.conf"

"$REPO_ROOT/tools/setup.sh"
ensure_postgres
write_odoo_config "$CONF" "$PORT"

ODOO=("$PY" "$(odoo_tree)/odoo-bin" -c "$CONF" -d "$DB")
# Updated where an earlier run installed it; installed otherwise (a new
# database, or one whose first installation did not finish).
if "$PY" - "$DB" "$ADDON_NAME" 2>/dev/null <<'PYEOF'
import sys, psycopg2
with psycopg2.connect(dbname=sys.argv[1]) as conn, conn.cursor() as cr:
    cr.execute("SELECT 1 FROM ir_module_module WHERE name = %s AND state = 'installed'",
               [sys.argv[2]])
    sys.exit(0 if cr.fetchone() else 1)
PYEOF
then
    say "updating $ADDON_NAME in database $DB"
    "${ODOO[@]}" -u "$ADDON_NAME" --stop-after-init --log-level=warn
else
    say "installing $ADDON_NAME in database $DB (created if absent)"
    "${ODOO[@]}" -i "$ADDON_NAME" --stop-after-init --log-level=warn
fi

cat >&2 <<MSG

  Odoo is starting on http://127.0.0.1:$PORT/odoo?debug=1
  Log in as admin / admin (a new database's administrator).
  Settings > Technical > Integrations holds the addon's screens.

MSG
exec "${ODOO[@]}" --db-filter="^$DB\$" --workers="$WORKERS" --max-cron-threads=2
