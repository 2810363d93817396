"""Sends a web shop's order to an Odoo "On webhook" automation, signed per
Standard Webhooks (https://www.standardwebhooks.com/).

    send_order("https://odoo.example.com/web/hook/<uuid>", "whsec_...",
               {"ref": "SO-1042", "customer": {...}, "lines": [...]})

The message id is the order's reference: however often the order is sent
(a retry after a timeout, say), Odoo's replay protection runs the
automation once.
"""

import base64
import hashlib
import hmac
import json
import time

import requests

MAX_TRIES = 5


def sign(secret, msg_id, timestamp, body):
    """The webhook-signature header: v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return (
        "v1,"
        + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    )


def send_order(url, secret, order):
    """Posts ``order`` and returns Odoo's answer: {"status": "ok"}, with
    "duplicate": true when Odoo had already processed it. Raises
    requests.HTTPError when Odoo refuses the order itself (4xx)."""
    body = json.dumps(order).encode()
    msg_id = f"order-{order['ref']}"
    for attempt in range(1, MAX_TRIES + 1):
        # Signed again on every try: Odoo refuses signatures older than 5 minutes.
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        try:
            response = requests.post(url, data=body, headers=headers, timeout=30)
        except requests.ConnectionError:
            if attempt == MAX_TRIES:
                raise
            response = None
        if (
            response is not None
            and response.status_code != 429
            and response.status_code < 500
        ):
            response.raise_for_status()  # 4xx: the answer's "message" says why
            return response.json()
        if attempt == MAX_TRIES:
            response.raise_for_status()
        time.sleep(_delay(response, attempt))


def _delay(response, attempt):
    """Seconds before the next try: Retry-After when Odoo gives one (429),
    else 1, 2, 4... seconds."""
    retry_after = (
        response.headers.get("Retry-After", "") if response is not None else ""
    )
    return int(retry_after) if retry_after.isdigit() else 2 ** (attempt - 1)
