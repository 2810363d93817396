"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A message is signed with HMAC-SHA256 over ``<id>.<timestamp>.<body>``; the
``webhook-signature`` header carries one or more space-separated ``v1,<base64>``
signatures, so that a sender rotating its secret can sign with both.
Secrets are written ``whsec_<base64 of the key bytes>``.
"""

import base64
import hashlib
import hmac
import re
import secrets as _secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32  # 256-bit keys, as long as the HMAC-SHA256 output
DEFAULT_TOLERANCE = 5 * 60  # seconds a timestamp may be off, either way
SIGNATURE_VERSION = "v1"
# A sender signs with its current secret and, while it rotates, one or two
# more: a header with more signatures than this is refused before any is
# computed.
MAX_SIGNATURES = 16
# Unix seconds are 10 digits until the year 2286; longer numbers are not a
# time (and a few hundred digits overflow a float when compared with now).
_UNIX_TIME = re.compile(r"[0-9]{1,12}")


class SignatureError(ValueError):
    """The message is not signed as it should be; the text says why."""


def generate_secret():
    """Returns a new random secret, ``whsec_`` + base64."""
    key = _secrets.token_bytes(SECRET_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode()


def decode_secret(secret):
    """Returns the key bytes of a ``whsec_`` secret (the prefix is optional)."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("the secret is not base64 after its whsec_ prefix") from exc
    if not key:
        raise ValueError("the secret is empty")
    return key


def _to_bytes(body):
    # surrogatepass: a value that is not valid text fails to match rather
    # than raising.
    return (
        body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    )


def parse_timestamp(value, name="webhook-timestamp"):
    """The Unix time written in ``value`` (decimal digits only); raises
    SignatureError saying that ``name`` is not a Unix time.

    >>> parse_timestamp("1700000000")
    1700000000
    >>> parse_timestamp("9" * 400)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    SignatureError: webhook-timestamp is not a Unix time
    """
    value = (value or "").strip()
    if not _UNIX_TIME.fullmatch(value):
        raise SignatureError(f"{name} is not a Unix time")
    return int(value)


def sign(secret, msg_id, timestamp, body):
    """Returns the ``v1,<base64>`` signature of one message."""
    content = b"%s.%d.%s" % (_to_bytes(msg_id), int(timestamp), _to_bytes(body))
    digest = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def sign_headers(secrets, msg_id, body, timestamp=None):
    """Returns the three ``webhook-*`` headers of a message signed with every
    secret given (the current one first, then any still in its grace period)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def verify(secrets, headers, body, tolerance=DEFAULT_TOLERANCE, now=None):
    """Checks a received message against any of ``secrets``.

    ``headers`` is a case-insensitive mapping (or a plain dict with lower-case
    keys). Returns the message id; raises SignatureError otherwise.
    """
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    received = headers.get("webhook-signature")
    if not (msg_id and timestamp and received):
        raise SignatureError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    timestamp = parse_timestamp(timestamp)
    check_timestamp(timestamp, tolerance, now)
    parts = received.split()
    if len(parts) > MAX_SIGNATURES:
        raise SignatureError(
            f"webhook-signature has {len(parts)} signatures; at most "
            f"{MAX_SIGNATURES} are accepted"
        )
    candidates = [
        part.split(",", 1)[1]
        for part in parts
        if part.startswith(SIGNATURE_VERSION + ",")
    ]
    for secret in secrets:
        expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
        # compare_digest takes the same time wherever the strings differ; on
        # bytes, so that a forged header with odd characters fails instead
        # of raising.
        if any(
            hmac.compare_digest(expected.encode(), _to_bytes(c)) for c in candidates
        ):
            return msg_id
    raise SignatureError("no signature matches")


def check_timestamp(timestamp, tolerance, now=None):
    """Raises SignatureError when ``timestamp`` is further than ``tolerance``
    seconds from now, in either direction."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"timestamp is {int(now - timestamp)} s away from now "
            f"(tolerance {tolerance} s)"
        )
