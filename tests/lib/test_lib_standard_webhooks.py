"""lib.standard_webhooks, cross-checked with the reference ``standardwebhooks``
library."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from odoo.addons.integration_gateway.lib import standard_webhooks as sw

BODY = json.dumps({"_model": "sale.order", "_id": 42}).encode()


def _message(secret, msg_id="msg_1", timestamp=None, body=BODY):
    headers = sw.sign_headers([secret], msg_id, body, timestamp)
    return headers, body


def test_generated_secret_is_whsec_and_32_bytes():
    secret = sw.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :])) == 32
    assert secret != sw.generate_secret()


def test_reference_library_verifies_our_signature():
    secret = sw.generate_secret()
    headers, body = _message(secret)
    assert Webhook(secret).verify(body, headers) == {"_model": "sale.order", "_id": 42}


def test_we_verify_the_reference_library_signature():
    secret = sw.generate_secret()
    now = int(time.time())
    when = datetime.fromtimestamp(now, UTC)
    signature = Webhook(secret).sign("msg_2", when, BODY.decode())
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(now),
        "webhook-signature": signature,
    }
    assert sw.verify([secret], headers, BODY) == "msg_2"


def test_two_secrets_sign_and_either_verifies():
    old, new = sw.generate_secret(), sw.generate_secret()
    headers = sw.sign_headers([new, old], "msg_3", BODY)
    assert len(headers["webhook-signature"].split()) == 2
    assert sw.verify([old], headers, BODY) == "msg_3"
    assert sw.verify([new], headers, BODY) == "msg_3"
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


def test_tampered_body_is_refused():
    secret = sw.generate_secret()
    headers, _body = _message(secret)
    with pytest.raises(sw.SignatureError, match="no signature matches"):
        sw.verify([secret], headers, BODY + b" ")


def test_wrong_secret_is_refused_by_both():
    headers, body = _message(sw.generate_secret())
    other = sw.generate_secret()
    with pytest.raises(sw.SignatureError):
        sw.verify([other], headers, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_old_and_future_timestamps_are_refused():
    secret = sw.generate_secret()
    for offset in (-301, 301):
        headers, body = _message(secret, timestamp=time.time() + offset)
        with pytest.raises(sw.SignatureError, match="tolerance 300 s"):
            sw.verify([secret], headers, body)
    headers, body = _message(secret, timestamp=time.time() - 299)
    assert sw.verify([secret], headers, body) == "msg_1"


def test_missing_headers_are_named():
    with pytest.raises(sw.SignatureError, match="missing webhook-id"):
        sw.verify([sw.generate_secret()], {}, BODY)


def test_bad_secret_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="not base64"):
        sw.decode_secret("whsec_not*base64")
