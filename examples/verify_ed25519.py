"""Verifying Odoo's Ed25519 webhook signatures (Standard Webhooks v1a) on
the receiver's side: only the endpoint's public key (whpk_...) is needed,
and it cannot sign. Uses the ``cryptography`` package.

    python verify_ed25519.py < request.json   # ODOO_WEBHOOK_PUBLIC_KEY=whpk_...

(``request.json``: ``{"headers": {...}, "body": "<the raw body>"}``.)
"""

import base64
import json
import os
import sys
import time

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE = 5 * 60  # seconds between Odoo's signature and its arrival


class InvalidSignature(Exception):
    pass


def verify(public_key, headers, body, now=None):
    """Returns the event (a dict) when ``body`` (bytes) carries a v1a
    signature by ``public_key`` (``whpk_`` + base64); raises
    InvalidSignature otherwise. ``headers``: any case-insensitive mapping
    of the request's headers (or a dict with lower-case names)."""
    msg_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    if not msg_id or not timestamp.isdigit():
        raise InvalidSignature("missing webhook-id or webhook-timestamp")
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE:
        raise InvalidSignature("signed too long ago (or in the future)")
    key = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(public_key.removeprefix("whpk_"))
    )
    signed = f"{msg_id}.{timestamp}.".encode() + body
    # While Odoo rotates its key, it sends two signatures, space-separated.
    for signature in (headers.get("webhook-signature") or "").split():
        version, _, value = signature.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(value), signed)
        except (BadSignature, ValueError):
            continue
        return json.loads(body)
    raise InvalidSignature("no valid signature")


if __name__ == "__main__":
    request = json.load(sys.stdin)
    headers = {name.lower(): value for name, value in request["headers"].items()}
    try:
        event = verify(
            os.environ["ODOO_WEBHOOK_PUBLIC_KEY"], headers, request["body"].encode()
        )
    except InvalidSignature as exc:
        sys.exit(f"refused: {exc}")
    print(json.dumps(event))
