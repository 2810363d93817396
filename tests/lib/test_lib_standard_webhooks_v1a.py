"""Standard Webhooks ``v1a`` (Ed25519) signatures of lib.standard_webhooks,
checked by implementations that are not ours: libsodium (PyNaCl) with the
spec's algorithm written out here. The ``standardwebhooks`` reference
library (1.1.0) verifies only ``v1``; it must ignore a ``v1a`` signature
beside a ``v1`` one."""

import base64
import json
import time

import nacl.exceptions
import nacl.signing
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from odoo.addons.integration_gateway.lib import standard_webhooks as sw
from odoo.addons.integration_gateway.lib import webhook_signatures

BODY = json.dumps({"_model": "sale.order", "_id": 42}).encode()


def spec_verify(public_key, headers, body):
    """The spec's v1a check, by libsodium: some ``v1a,<base64>`` of the
    ``webhook-signature`` header is the Ed25519 signature of
    ``{id}.{timestamp}.{body}`` by the ``whpk_`` key (base64 of 32 bytes)."""
    assert public_key.startswith("whpk_")
    key = nacl.signing.VerifyKey(base64.b64decode(public_key[len("whpk_") :]))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(signed, base64.b64decode(value))
        except nacl.exceptions.BadSignatureError:
            continue
        return True
    return False


def test_keys_are_encoded_as_the_spec_says():
    secret = sw.generate_signing_key()
    assert secret.startswith("whsk_")
    seed = base64.b64decode(secret[len("whsk_") :])
    assert len(seed) == 32
    # libsodium derives the same public key from the same 32-byte seed.
    nacl_public = nacl.signing.SigningKey(seed).verify_key.encode()
    assert sw.public_key(secret) == "whpk_" + base64.b64encode(nacl_public).decode()
    assert sw.generate_signing_key() != secret


def test_libsodium_verifies_our_v1a_signature():
    secret = sw.generate_signing_key()
    headers = sw.sign_headers([secret], "msg_1", BODY)
    assert headers["webhook-signature"].startswith("v1a,")
    assert spec_verify(sw.public_key(secret), headers, BODY)
    assert not spec_verify(sw.public_key(secret), headers, BODY + b" ")
    other = sw.public_key(sw.generate_signing_key())
    assert not spec_verify(other, headers, BODY)


def test_we_verify_a_libsodium_signature():
    signing = nacl.signing.SigningKey.generate()
    public = "whpk_" + base64.b64encode(signing.verify_key.encode()).decode()
    now = int(time.time())
    signed = signing.sign(f"msg_2.{now}.".encode() + BODY).signature
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(now),
        "webhook-signature": "v1a," + base64.b64encode(signed).decode(),
    }
    assert sw.verify([public], headers, BODY) == "msg_2"
    with pytest.raises(sw.SignatureError):
        sw.verify([public], headers, BODY.replace(b"42", b"43"))


def test_a_libsodium_64_byte_secret_key_is_read():
    signing = nacl.signing.SigningKey.generate()
    libsodium_key = bytes(signing) + signing.verify_key.encode()
    secret = "whsk_" + base64.b64encode(libsodium_key).decode()
    assert (
        sw.public_key(secret)
        == "whpk_" + base64.b64encode(signing.verify_key.encode()).decode()
    )
    tampered = "whsk_" + base64.b64encode(bytes(signing) + bytes(32)).decode()
    with pytest.raises(ValueError, match="second half"):
        sw.public_key(tampered)


def test_rotation_from_hmac_to_ed25519_signs_with_both():
    old, new = sw.generate_secret(), sw.generate_signing_key()
    headers = sw.sign_headers([new, old], "msg_3", BODY)
    versions = [s.split(",")[0] for s in headers["webhook-signature"].split()]
    assert versions == ["v1a", "v1"]
    # A receiver still on the HMAC secret: the reference library verifies.
    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)
    # One that moved to the public key: libsodium and we verify.
    assert spec_verify(sw.public_key(new), headers, BODY)
    assert sw.verify([sw.public_key(new)], headers, BODY) == "msg_3"
    assert sw.verify([old], headers, BODY) == "msg_3"


def test_two_ed25519_keys_during_a_rotation():
    old, new = sw.generate_signing_key(), sw.generate_signing_key()
    headers = sw.sign_headers([new, old], "msg_4", BODY)
    for key in (old, new):
        assert spec_verify(sw.public_key(key), headers, BODY)
        assert sw.verify([sw.public_key(key)], headers, BODY) == "msg_4"


def test_public_key_does_not_accept_an_hmac_signature_and_vice_versa():
    hmac_secret, key = sw.generate_secret(), sw.generate_signing_key()
    hmac_headers = sw.sign_headers([hmac_secret], "msg_5", BODY)
    with pytest.raises(sw.SignatureError, match="no signature matches"):
        sw.verify([sw.public_key(key)], hmac_headers, BODY)
    ed_headers = sw.sign_headers([key], "msg_5", BODY)
    with pytest.raises(sw.SignatureError, match="no signature matches"):
        sw.verify([hmac_secret], ed_headers, BODY)
    # The reference library, which knows only v1, refuses rather than errs.
    with pytest.raises(WebhookVerificationError):
        Webhook(hmac_secret).verify(BODY, ed_headers)


def test_malformed_v1a_signatures_fail_cleanly():
    key = sw.generate_signing_key()
    headers = sw.sign_headers([key], "msg_6", BODY)
    for forged in ("v1a,!!!", "v1a,AAAA", "v1a," + "A" * 88, "v1a,"):
        with pytest.raises(sw.SignatureError):
            sw.verify(
                [sw.public_key(key)], {**headers, "webhook-signature": forged}, BODY
            )


def test_incoming_standard_webhooks_verify_v1a_and_still_v1():
    key, secret = sw.generate_signing_key(), sw.generate_secret()
    headers = sw.sign_headers([key], "msg_7", BODY)
    webhook_signatures.verify("standard_webhooks", [sw.public_key(key)], headers, BODY)
    mixed = {k.title(): v for k, v in headers.items()}  # any case of the names
    webhook_signatures.verify(
        "standard_webhooks", [secret, sw.public_key(key)], mixed, BODY
    )
    with pytest.raises(sw.SignatureError):
        webhook_signatures.verify("standard_webhooks", [secret], headers, BODY)
    v1 = sw.sign_headers([secret], "msg_8", BODY)
    webhook_signatures.verify("standard_webhooks", [secret], v1, BODY)


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("whpk_" + base64.b64encode(bytes(31)).decode(), "32 bytes"),
        ("whpk_not base64", "not base64"),
        ("whsec_", "empty"),
    ],
)
def test_bad_verifying_keys_are_refused(key, error):
    with pytest.raises(ValueError, match=error):
        sw.check_verifying_key(key)
