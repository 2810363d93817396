"""Signatures of incoming webhooks, one verifier per sender's scheme.

Every scheme signs the raw body with HMAC (Standard Webhooks also with
Ed25519, ``v1a``, checked against the sender's ``whpk_`` public key); they
differ in the header that
carries the signature, how it is encoded, whether a timestamp is signed too,
and where the sender puts the message id used against replays:

=================  ==========================  =========  =====================
scheme             signature header            signs a    message id
                                               time
=================  ==========================  =========  =====================
standard_webhooks  ``webhook-signature``       yes        ``webhook-id``
stripe             ``Stripe-Signature``        yes        the body's ``id``
github             ``X-Hub-Signature-256``     no         ``X-GitHub-Delivery``
shopify            ``X-Shopify-Hmac-Sha256``   no         ``X-Shopify-Webhook-Id``
custom_hmac        configured                  no         configured header
=================  ==========================  =========  =====================

The presets of Slack, Twilio, Zoom and Meta are in ``webhook_presets``.

Each verifier takes several secrets (the current one, then a secondary one
during a rotation) and accepts a signature made with any of them. Every
comparison is made with ``hmac.compare_digest`` on bytes, so that it takes
the same time wherever the strings differ and cannot fail on odd characters.
"""

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass

from . import standard_webhooks, webhook_presets
from .messages import Refusal, _lt
from .standard_webhooks import (
    MAX_SIGNATURES,
    SignatureError,
    check_timestamp,
    parse_timestamp,
)

__all__ = [
    "SCHEMES",
    "CustomHmac",
    "SignatureError",
    "message_id",
    "verify",
]

SCHEMES = (
    "none",
    "standard_webhooks",
    "stripe",
    "github",
    "shopify",
    "custom_hmac",
    *webhook_presets.PRESETS,
)
# Schemes that sign a time, so a captured message can only be replayed within
# the tolerance.
TIMESTAMP_SCHEMES = frozenset({"standard_webhooks", "stripe"}).union(
    webhook_presets.TIMESTAMP_PRESETS
)
DEFAULT_TOLERANCE = standard_webhooks.DEFAULT_TOLERANCE  # seconds, either way

STRIPE_HEADER = "Stripe-Signature"
GITHUB_HEADER = "X-Hub-Signature-256"
GITHUB_PREFIX = "sha256="
SHOPIFY_HEADER = "X-Shopify-Hmac-Sha256"

# Where each scheme's sender puts the id of a message; Stripe puts it in the
# body (the event's ``id``), custom senders in a header named by the validator.
MESSAGE_ID_HEADERS = {
    "standard_webhooks": "webhook-id",
    "github": "X-GitHub-Delivery",
    "shopify": "X-Shopify-Webhook-Id",
    **webhook_presets.MESSAGE_ID_HEADERS,
}
# Where the body carries it (a key of a JSON object).
BODY_MESSAGE_IDS = {"stripe": "id", **webhook_presets.BODY_MESSAGE_IDS}

ALGORITHMS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
ENCODINGS = ("hex", "base64")


@dataclass(frozen=True)
class CustomHmac:
    """How a custom sender signs: ``header: <prefix><encoded HMAC of the body>``."""

    header: str
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""

    def __post_init__(self):
        if not (self.header or "").strip():
            raise Refusal(_lt("a custom HMAC needs the name of its signature header"))
        if self.algorithm not in ALGORITHMS:
            raise Refusal(
                _lt("unknown HMAC algorithm %(algorithm)s"),
                algorithm=repr(self.algorithm),
            )
        if self.encoding not in ENCODINGS:
            raise Refusal(
                _lt("unknown signature encoding %(encoding)s"),
                encoding=repr(self.encoding),
            )


def _bytes(value):
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    # Header values are text; a forged one may hold anything, which must
    # make the comparison fail rather than raise.
    return value.encode("utf-8", "backslashreplace")


def _hmac(secret, content, algorithm="sha256"):
    return hmac.new(_bytes(secret), _bytes(content), ALGORITHMS[algorithm]).digest()


def _matches(expected, received):
    return hmac.compare_digest(_bytes(expected), _bytes(received))


def header_value(headers, name):
    """The value of header ``name`` in werkzeug ``Headers`` or a plain dict,
    whatever the case of its name; None when absent."""
    if isinstance(headers, dict):
        name = name.lower()
        return next((v for k, v in headers.items() if k.lower() == name), None)
    return headers.get(name)


def _header(headers, name):
    value = header_value(headers, name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value.strip()


# Stripe ---------------------------------------------------------------------


def sign_stripe(secret, body, timestamp=None):
    """Returns the ``Stripe-Signature`` value Stripe would send for ``body``."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    content = b"%d.%s" % (timestamp, _bytes(body))
    return f"t={timestamp},v1={_hmac(secret, content).hex()}"


def verify_stripe(secrets, headers, body, tolerance=DEFAULT_TOLERANCE, now=None):
    """Checks ``Stripe-Signature: t=<time>,v1=<hex>[,v1=<hex>...]``.

    Stripe signs ``<time>.<body>`` with the endpoint's ``whsec_`` secret used
    as given (not decoded). Returns the signed timestamp.
    """
    timestamp, signatures = None, []
    items = _header(headers, STRIPE_HEADER).split(",")
    if len(items) > MAX_SIGNATURES + 1:
        raise SignatureError(
            f"{STRIPE_HEADER} has {len(items)} entries; at most "
            f"{MAX_SIGNATURES} signatures are accepted"
        )
    for item in items:
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError(f"{STRIPE_HEADER} has no t=<Unix time>")
    timestamp = parse_timestamp(timestamp, f"the {STRIPE_HEADER} timestamp (t=)")
    if not signatures:
        raise SignatureError(f"{STRIPE_HEADER} has no v1 signature")
    check_timestamp(timestamp, tolerance, now)
    content = b"%d.%s" % (timestamp, _bytes(body))
    for secret in secrets:
        expected = _hmac(secret, content).hex()
        if any(_matches(expected, received.lower()) for received in signatures):
            return timestamp
    raise SignatureError("no signature matches")


# GitHub ---------------------------------------------------------------------


def sign_github(secret, body):
    """Returns the ``X-Hub-Signature-256`` value GitHub would send."""
    return GITHUB_PREFIX + _hmac(secret, body).hex()


def verify_github(secrets, headers, body):
    """Checks ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``."""
    received = _header(headers, GITHUB_HEADER)
    if not received.startswith(GITHUB_PREFIX):
        raise SignatureError(f"{GITHUB_HEADER} does not start with {GITHUB_PREFIX}")
    received = received[len(GITHUB_PREFIX) :].lower()
    if not any(_matches(_hmac(secret, body).hex(), received) for secret in secrets):
        raise SignatureError("no signature matches")


# Shopify --------------------------------------------------------------------


def sign_shopify(secret, body):
    """Returns the ``X-Shopify-Hmac-Sha256`` value Shopify would send."""
    return base64.b64encode(_hmac(secret, body)).decode()


def verify_shopify(secrets, headers, body):
    """Checks ``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``,
    signed with the app's client secret."""
    received = _header(headers, SHOPIFY_HEADER)
    for secret in secrets:
        expected = base64.b64encode(_hmac(secret, body)).decode()
        if _matches(expected, received):
            return
    raise SignatureError("no signature matches")


# Custom HMAC ----------------------------------------------------------------


def _encode(custom, digest):
    return (
        digest.hex() if custom.encoding == "hex" else base64.b64encode(digest).decode()
    )


def sign_custom(custom, secret, body):
    """Returns the value of ``custom.header`` for ``body``."""
    return custom.prefix + _encode(custom, _hmac(secret, body, custom.algorithm))


def verify_custom(custom, secrets, headers, body):
    """Checks ``<custom.header>: <prefix><hex or base64 HMAC of the body>``.
    Hex signatures are compared case-insensitively."""
    received = _header(headers, custom.header)
    if custom.prefix:
        if not received.startswith(custom.prefix):
            raise SignatureError(
                f"{custom.header} does not start with {custom.prefix.strip()}"
            )
        received = received[len(custom.prefix) :]
    if custom.encoding == "hex":
        received = received.lower()
    else:
        received = _canonical_base64(received)
    for secret in secrets:
        expected = _encode(custom, _hmac(secret, body, custom.algorithm))
        if _matches(expected, received):
            return
    raise SignatureError("no signature matches")


def _canonical_base64(text):
    # Senders differ on padding and on the URL-safe alphabet; compare the
    # standard padded form.
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64encode(base64.b64decode(text, validate=True)).decode()
    except (binascii.Error, ValueError):
        return text


# All schemes ----------------------------------------------------------------


def verify(
    scheme,
    secrets,
    headers,
    body,
    *,
    tolerance=DEFAULT_TOLERANCE,
    now=None,
    custom=None,
    url="",
    mimetype="",
):
    """Checks the signature of a received message per ``scheme``.

    ``headers`` is a case-insensitive mapping (werkzeug's ``Headers``) or a
    dict; ``body`` the raw bytes; ``url`` and ``mimetype`` the URL the
    sender called and the body's media type (Twilio signs them). Returns
    nothing; raises SignatureError saying why the message is refused.
    ``none`` accepts everything; any other scheme refuses everything when no
    secret is configured.
    """
    if scheme == "none":
        return
    secrets = [secret for secret in secrets if secret]
    if not secrets:
        raise SignatureError("the validator has no secret to check signatures with")
    if scheme == "standard_webhooks":
        if isinstance(headers, dict):
            headers = {name.lower(): value for name, value in headers.items()}
        standard_webhooks.verify(secrets, headers, body, tolerance, now)
    elif scheme == "stripe":
        verify_stripe(secrets, headers, body, tolerance, now)
    elif scheme == "github":
        verify_github(secrets, headers, body)
    elif scheme == "shopify":
        verify_shopify(secrets, headers, body)
    elif scheme == "custom_hmac":
        if custom is None:
            raise SignatureError("the custom HMAC scheme is not configured")
        verify_custom(custom, secrets, headers, body)
    elif scheme in webhook_presets.PRESETS:
        webhook_presets.verify(
            scheme,
            secrets,
            headers,
            body,
            tolerance=tolerance,
            now=now,
            url=url,
            mimetype=mimetype,
        )
    else:
        raise SignatureError(f"unknown signature scheme {scheme!r}")


def message_id_source(scheme, id_header=None):
    """Where ``scheme`` carries a message's id, for people: a header name, or
    ``the body's "id"`` for Stripe; None when nowhere is configured."""
    if scheme in BODY_MESSAGE_IDS:
        return f'the body\'s "{BODY_MESSAGE_IDS[scheme]}"'
    return MESSAGE_ID_HEADERS.get(scheme) or (id_header or "").strip() or None


def message_id(scheme, headers, payload=None, id_header=None):
    """The sender's id of a message, used to recognise its retries.

    From the scheme's header, from a key of the JSON body (Stripe's ``id``,
    Slack's ``event_id``), or from ``id_header`` for the schemes that carry
    none of their own. Returns None when the
    message carries none.
    """
    if scheme in BODY_MESSAGE_IDS:
        key = BODY_MESSAGE_IDS[scheme]
        value = payload.get(key) if isinstance(payload, dict) else None
        return str(value) if isinstance(value, str | int) and value != "" else None
    name = MESSAGE_ID_HEADERS.get(scheme) or (id_header or "").strip()
    if not name:
        return None
    value = header_value(headers, name)
    return (value.strip() or None) if value else None
