#!/usr/bin/env bash
# Sends the order in a JSON file to an Odoo "On webhook" automation, signed
# per Standard Webhooks, with curl and openssl.
#
#   ODOO_WEBHOOK_URL=https://odoo.example.com/web/hook/<uuid> \
#   ODOO_WEBHOOK_SECRET=whsec_... ./shop_webhook.sh order.json SO-1042
#
# The second argument, the message id, must be the same whenever the same
# order is sent again: Odoo then runs the automation once. --retry waits as
# long as Retry-After says on 429 and retries 5xx answers (with the same
# signature, valid for 5 minutes). The answer goes through a file, which
# curl empties before each retry.
set -euo pipefail
order_file="$1" msg_id="order-$2" timestamp="$(date +%s)"
key_hex="$(printf '%s' "${ODOO_WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -vtx1 | tr -d ' \n')"
signature="$(printf '%s.%s.' "$msg_id" "$timestamp" | cat - "$order_file" \
    | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)"
answer="$(mktemp)"
trap 'rm -f "$answer"' EXIT
status=0
curl --silent --show-error --fail-with-body --retry 5 --output "$answer" \
    -H "Content-Type: application/json" \
    -H "webhook-id: $msg_id" \
    -H "webhook-timestamp: $timestamp" \
    -H "webhook-signature: v1,$signature" \
    --data-binary "@$order_file" \
    "$ODOO_WEBHOOK_URL" || status=$?
cat "$answer"
exit "$status"
