"""The warehouse's side of Odoo's queued webhooks: checks that each event
was signed by Odoo (Standard Webhooks) and handles it once.

    python warehouse_receiver.py     # ODOO_WEBHOOK_SECRET=whsec_... PORT=8000
"""

import base64
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 5 * 60  # seconds between Odoo's signature and its arrival


class InvalidSignature(Exception):
    pass


def verify(secret, headers, body, now=None):
    """Returns the event (a dict) when ``body`` (bytes) was signed with
    ``secret``; raises InvalidSignature otherwise. ``headers``: any
    case-insensitive mapping of the request's headers."""
    msg_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    if not msg_id or not timestamp.isdigit():
        raise InvalidSignature("missing webhook-id or webhook-timestamp")
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE:
        raise InvalidSignature("signed too long ago (or in the future)")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    # While Odoo rotates its secret, it sends two signatures, space-separated.
    for signature in (headers.get("webhook-signature") or "").split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return json.loads(body)
    raise InvalidSignature("no valid signature")


def make_handler(secret, on_event):
    """An http.server handler calling ``on_event(event)`` once per event:
    Odoo delivers at least once, so an event may arrive twice, with the same
    webhook-id."""
    seen = set()  # in a real receiver: a table with a unique webhook-id

    class WarehouseHandler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verify(secret, self.headers, body)
            except InvalidSignature as exc:
                self.send_error(401, str(exc))
                return
            if self.headers["webhook-id"] not in seen:
                on_event(event)  # an exception drops the call: Odoo retries
                seen.add(self.headers["webhook-id"])
            self.send_response(204)  # any 2xx tells Odoo it is delivered
            self.end_headers()

    return WarehouseHandler


if __name__ == "__main__":
    handler = make_handler(os.environ["ODOO_WEBHOOK_SECRET"], print)
    ThreadingHTTPServer(
        ("", int(os.environ.get("PORT", "8000"))), handler
    ).serve_forever()
