#!/usr/bin/env bash
# Calls Odoo's JSON/2 API with curl; prints the result.
#
#   ODOO_URL=https://odoo.example.com ODOO_API_KEY=... \
#       ./odoo_client.sh res.partner search_read '{"fields": ["name"], "limit": 5}'
#
# --retry waits as long as Retry-After says when the key's rate limit is
# exceeded (429), and retries 5xx answers; --fail-with-body exits non-zero
# on a refusal (403: the key's policy denies the call) and prints why. The
# answer goes through a file, which curl empties before each retry.
set -euo pipefail
answer="$(mktemp)"
trap 'rm -f "$answer"' EXIT
status=0
curl --silent --show-error --fail-with-body --retry 5 --output "$answer" \
    -H "Authorization: Bearer $ODOO_API_KEY" \
    -H "Content-Type: application/json" \
    --data "${3:-"{}"}" \
    "$ODOO_URL/json/2/$1/$2" || status=$?
cat "$answer"
exit "$status"
