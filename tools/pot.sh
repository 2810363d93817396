#!/usr/bin/env bash
# Regenerates i18n/integration_gateway.pot, the translation template, from
# a database where the addon is up to date with the code (the test database
# by default: it is updated first).
#
#   IG_TEST_DB  database to export from (default: integration_gateway_test)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$REPO_ROOT/tools/postgres.sh"

DB="${IG_TEST_DB:-integration_gateway_test}"
CONF="$BUILD_DIR/odoo-test.conf"

# The export writes into the addon's i18n folder, which must be the
# checkout's (see link_addon).
mkdir -p "$REPO_ROOT/i18n"
"$REPO_ROOT/tools/setup.sh"
ensure_postgres
write_odoo_config "$CONF" 8169

ODOO=("$PY" "$(odoo_tree)/odoo-bin")
if "$PY" -c "import psycopg2; psycopg2.connect(dbname='$DB').close()" 2>/dev/null; then
    INSTALL=(-u "$ADDON_NAME")
else
    INSTALL=(-i "$ADDON_NAME")
fi
say "bringing $ADDON_NAME up to date in database $DB"
"${ODOO[@]}" -c "$CONF" -d "$DB" "${INSTALL[@]}" --stop-after-init --log-level=warn
"${ODOO[@]}" i18n export -c "$CONF" -d "$DB" "$ADDON_NAME"
say "wrote $REPO_ROOT/i18n/$ADDON_NAME.pot"
