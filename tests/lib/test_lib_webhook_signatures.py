"""lib.webhook_signatures: every scheme signs, verifies, and refuses a
tampered body, a wrong secret, a missing header and (where a time is signed)
an old timestamp; a secondary secret is accepted during rotation.

Expected signatures are computed here independently, from each sender's
documentation, rather than with the module's own ``sign_*`` helpers."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_signatures as ws

BODY = json.dumps({"id": "evt_1", "amount": 4200}).encode()
SECRET = "shhh-a-shared-secret"
OTHER = "not-the-secret"


def _hex(secret, content, digest=hashlib.sha256):
    return hmac.new(secret.encode(), content, digest).hexdigest()


# Stripe -----------------------------------------------------------------------


def _stripe_headers(secret, body=BODY, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = _hex(secret, b"%d.%s" % (timestamp, body))
    return {"Stripe-Signature": f"t={timestamp},v1={signature},v0=deadbeef"}


def test_stripe_accepts_its_documented_signature_and_the_secret_as_given():
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    headers = _stripe_headers(secret)
    ws.verify("stripe", [secret], headers, BODY)
    assert ws.sign_stripe(secret, BODY, 1700000000).startswith("t=1700000000,v1=")


def test_stripe_accepts_any_of_several_v1_signatures():
    now = int(time.time())
    header = f"t={now},v1={_hex(OTHER, b'%d.%s' % (now, BODY))},v1=" + _hex(
        SECRET, b"%d.%s" % (now, BODY)
    )
    ws.verify("stripe", [SECRET], {"stripe-signature": header}, BODY)


def test_stripe_refusals():
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("stripe", [SECRET], _stripe_headers(SECRET), BODY + b" ")
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("stripe", [OTHER], _stripe_headers(SECRET), BODY)
    with pytest.raises(ws.SignatureError, match="missing Stripe-Signature"):
        ws.verify("stripe", [SECRET], {}, BODY)
    with pytest.raises(ws.SignatureError, match="no t="):
        ws.verify("stripe", [SECRET], {"Stripe-Signature": "v1=00"}, BODY)
    with pytest.raises(ws.SignatureError, match="no v1"):
        ws.verify("stripe", [SECRET], {"Stripe-Signature": "t=1,v0=00"}, BODY)
    old = _stripe_headers(SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(ws.SignatureError, match="tolerance 300 s"):
        ws.verify("stripe", [SECRET], old, BODY)
    ws.verify("stripe", [SECRET], old, BODY, tolerance=600)


def test_stripe_secondary_secret():
    ws.verify("stripe", [OTHER, SECRET], _stripe_headers(SECRET), BODY)


# GitHub -----------------------------------------------------------------------


def test_github_documented_example():
    # The example of GitHub's "Validating webhook deliveries" page.
    headers = {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c"
        "46f4379c8b043e17"
    }
    ws.verify("github", ["It's a Secret to Everybody"], headers, b"Hello, World!")


def test_github_refusals_and_rotation():
    headers = {"X-Hub-Signature-256": "sha256=" + _hex(SECRET, BODY)}
    ws.verify("github", [SECRET], headers, BODY)
    ws.verify("github", [OTHER, SECRET], headers, BODY)
    assert ws.sign_github(SECRET, BODY) == headers["X-Hub-Signature-256"]
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("github", [SECRET], headers, BODY + b"x")
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("github", [OTHER], headers, BODY)
    with pytest.raises(ws.SignatureError, match="missing X-Hub-Signature-256"):
        ws.verify("github", [SECRET], {"X-Hub-Signature": "sha1=00"}, BODY)
    with pytest.raises(ws.SignatureError, match="does not start with sha256="):
        ws.verify("github", [SECRET], {"X-Hub-Signature-256": _hex(SECRET, BODY)}, BODY)


# Shopify ----------------------------------------------------------------------


def test_shopify_refusals_and_rotation():
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    headers = {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}
    ws.verify("shopify", [SECRET], headers, BODY)
    ws.verify("shopify", [OTHER, SECRET], headers, BODY)
    assert ws.sign_shopify(SECRET, BODY) == headers["X-Shopify-Hmac-Sha256"]
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("shopify", [SECRET], headers, BODY[:-1])
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("shopify", [OTHER], headers, BODY)
    with pytest.raises(ws.SignatureError, match="missing X-Shopify-Hmac-Sha256"):
        ws.verify("shopify", [SECRET], {}, BODY)


# Custom HMAC ------------------------------------------------------------------


def test_custom_hex_with_prefix_is_case_insensitive():
    custom = ws.CustomHmac(header="X-Signature", algorithm="sha512", prefix="v1=")
    signature = _hex(SECRET, BODY, hashlib.sha512)
    ws.verify(
        "custom_hmac", [SECRET], {"x-signature": "v1=" + signature}, BODY, custom=custom
    )
    ws.verify(
        "custom_hmac",
        [SECRET],
        {"X-Signature": "v1=" + signature.upper()},
        BODY,
        custom=custom,
    )
    assert ws.sign_custom(custom, SECRET, BODY) == "v1=" + signature
    with pytest.raises(ws.SignatureError, match="does not start with v1="):
        ws.verify(
            "custom_hmac", [SECRET], {"X-Signature": signature}, BODY, custom=custom
        )
    with pytest.raises(ws.SignatureError, match="missing X-Signature"):
        ws.verify("custom_hmac", [SECRET], {}, BODY, custom=custom)


def test_custom_base64_accepts_url_safe_and_unpadded_forms():
    custom = ws.CustomHmac(header="X-Sig", algorithm="sha1", encoding="base64")
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha1).digest()
    for encoded in (
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
    ):
        ws.verify(
            "custom_hmac", [OTHER, SECRET], {"X-Sig": encoded}, BODY, custom=custom
        )
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("custom_hmac", [OTHER], {"X-Sig": encoded}, BODY, custom=custom)


def test_custom_configuration_is_checked():
    with pytest.raises(ValueError, match="signature header"):
        ws.CustomHmac(header=" ")
    with pytest.raises(ValueError, match="algorithm"):
        ws.CustomHmac(header="X", algorithm="md5")
    with pytest.raises(ValueError, match="encoding"):
        ws.CustomHmac(header="X", encoding="base32")


# Standard Webhooks, through the common entry point ------------------------------


def test_standard_webhooks_signed_by_the_reference_library():
    secret = sw.generate_secret()
    now = int(time.time())
    signature = Webhook(secret).sign(
        "msg_9", datetime.fromtimestamp(now, UTC), BODY.decode()
    )
    headers = {
        "Webhook-Id": "msg_9",
        "Webhook-Timestamp": str(now),
        "Webhook-Signature": signature,
    }
    ws.verify("standard_webhooks", [sw.generate_secret(), secret], headers, BODY)
    with pytest.raises(ws.SignatureError):
        ws.verify("standard_webhooks", [sw.generate_secret()], headers, BODY)


# Every scheme ---------------------------------------------------------------------


def test_none_accepts_anything_and_other_schemes_need_a_secret():
    ws.verify("none", [], {}, BODY)
    for scheme in ("standard_webhooks", "stripe", "github", "shopify"):
        with pytest.raises(ws.SignatureError, match="no secret"):
            ws.verify(scheme, ["", None], {}, BODY)
    with pytest.raises(ws.SignatureError, match="not configured"):
        ws.verify("custom_hmac", [SECRET], {}, BODY)
    with pytest.raises(ws.SignatureError, match="unknown signature scheme"):
        ws.verify("carrier_pigeon", [SECRET], {}, BODY)


@pytest.mark.parametrize(
    "scheme, header",
    [
        ("github", "X-Hub-Signature-256"),
        ("shopify", "X-Shopify-Hmac-Sha256"),
        ("stripe", "Stripe-Signature"),
    ],
)
def test_odd_characters_in_a_forged_header_are_refused_not_raised(scheme, header):
    forged = {
        "github": "sha256=é" + "0" * 63,
        "shopify": "é" * 44,
        "stripe": f"t={int(time.time())},v1=é",
    }[scheme]
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify(scheme, [SECRET], {header: forged}, BODY)


def test_standard_webhooks_odd_characters_are_refused_not_raised():
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,é",
    }
    with pytest.raises(ws.SignatureError, match="no signature matches"):
        ws.verify("standard_webhooks", [sw.generate_secret()], headers, BODY)


def test_message_ids():
    headers = {
        "webhook-id": "msg_1",
        "X-GitHub-Delivery": "72d3162e",
        "x-shopify-webhook-id": "b54557e4",
        "X-Event-Id": " evt-7 ",
    }
    assert ws.message_id("standard_webhooks", headers) == "msg_1"
    assert ws.message_id("github", headers) == "72d3162e"
    assert ws.message_id("shopify", headers) == "b54557e4"
    assert ws.message_id("custom_hmac", headers, id_header="X-Event-Id") == "evt-7"
    assert ws.message_id("none", headers, id_header="x-event-id") == "evt-7"
    assert ws.message_id("none", headers) is None
    assert ws.message_id("custom_hmac", {}, id_header="X-Event-Id") is None
    assert ws.message_id("stripe", headers, {"id": "evt_1"}) == "evt_1"
    assert ws.message_id("stripe", headers, {"id": ""}) is None
    assert ws.message_id("stripe", headers, ["evt_1"]) is None
    assert ws.message_id_source("stripe") == 'the body\'s "id"'
