"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A message is signed over ``<id>.<timestamp>.<body>``; the
``webhook-signature`` header carries one or more space-separated
signatures, so that a sender rotating its key can sign with both:

* ``v1,<base64>``: HMAC-SHA256 with a shared secret written
  ``whsec_<base64 of the key bytes>``;
* ``v1a,<base64>``: Ed25519 (asymmetric). The sender keeps the secret key,
  ``whsk_<base64 of the 32-byte private key>``, and the receiver holds only
  the public key, ``whpk_<base64 of the 32-byte public key>``: whoever
  verifies cannot forge.

The key's prefix says which signature it makes or checks, so one list of
keys may mix both (a sender moving from HMAC to Ed25519 signs with both
during the grace period).

>>> key = signing_key_from_seed(bytes(32))
>>> key
'whsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
>>> public_key(key)
'whpk_O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik='
>>> signature = sign(key, "msg_1", 1700000000, b'{"a": 1}')
>>> signature[:4], len(signature)
('v1a,', 92)
>>> headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
...            "webhook-signature": "v1,bm90IGl0 " + signature}
>>> verify([public_key(key)], headers, b'{"a": 1}', now=1700000000)
'msg_1'
"""

import base64
import hashlib
import hmac
import re
import secrets as _secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from .messages import Refusal, _lt

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32  # 256-bit keys, as long as the HMAC-SHA256 output
DEFAULT_TOLERANCE = 5 * 60  # seconds a timestamp may be off, either way
SIGNATURE_VERSION = "v1"
SIGNING_KEY_PREFIX = "whsk_"
PUBLIC_KEY_PREFIX = "whpk_"
ASYMMETRIC_VERSION = "v1a"
ED25519_KEY_BYTES = 32  # an Ed25519 private key (its seed) and public key
ED25519_SIGNATURE_BYTES = 64
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
        raise Refusal(_lt("the secret is not base64 after its whsec_ prefix")) from exc
    if not key:
        raise Refusal(_lt("the secret is empty"))
    return key


def generate_signing_key():
    """Returns a new Ed25519 secret key, ``whsk_`` + base64 of its 32 bytes."""
    return _encode_signing_key(Ed25519PrivateKey.generate())


def signing_key_from_seed(seed):
    """The ``whsk_`` secret key of the 32-byte ``seed`` (for tests and
    imports of existing keys)."""
    return _encode_signing_key(Ed25519PrivateKey.from_private_bytes(bytes(seed)))


def _encode_signing_key(private):
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return SIGNING_KEY_PREFIX + base64.b64encode(raw).decode()


def _decode_key(key, prefix, unprefixed, not_base64):
    # unprefixed and not_base64: the messages of the two refusals, marked
    # for translation, with a %(prefix)s placeholder.
    text = (key or "").strip()
    if not text.startswith(prefix):
        raise Refusal(unprefixed, prefix=prefix)
    try:
        return base64.b64decode(text[len(prefix) :], validate=True)
    except ValueError as exc:
        raise Refusal(not_base64, prefix=prefix) from exc


def private_key(signing_key):
    """The Ed25519 private key of a ``whsk_`` secret key. Besides the 32-byte
    key, the 64 bytes libsodium writes (key then public key) are read too."""
    raw = _decode_key(
        signing_key,
        SIGNING_KEY_PREFIX,
        _lt("an Ed25519 secret key starts with %(prefix)s"),
        _lt("an Ed25519 secret key is not base64 after its %(prefix)s prefix"),
    )
    if len(raw) not in (ED25519_KEY_BYTES, 2 * ED25519_KEY_BYTES):
        raise Refusal(
            _lt("an Ed25519 secret key holds %(expected)s bytes, not %(actual)s"),
            expected=ED25519_KEY_BYTES,
            actual=len(raw),
        )
    private = Ed25519PrivateKey.from_private_bytes(raw[:ED25519_KEY_BYTES])
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if len(raw) > ED25519_KEY_BYTES and raw[ED25519_KEY_BYTES:] != public:
        raise Refusal(_lt("the secret key's second half is not its public key"))
    return private


def public_key(signing_key):
    """The ``whpk_`` public key of a ``whsk_`` secret key: what a receiver
    verifies ``v1a`` signatures with."""
    raw = (
        private_key(signing_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode()


def _public_key(verifying_key):
    raw = _decode_key(
        verifying_key,
        PUBLIC_KEY_PREFIX,
        _lt("an Ed25519 public key starts with %(prefix)s"),
        _lt("an Ed25519 public key is not base64 after its %(prefix)s prefix"),
    )
    if len(raw) != ED25519_KEY_BYTES:
        raise Refusal(
            _lt("an Ed25519 public key holds %(expected)s bytes, not %(actual)s"),
            expected=ED25519_KEY_BYTES,
            actual=len(raw),
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def check_verifying_key(key):
    """Raises ValueError saying what is wrong with a key that verifies
    incoming messages: a ``whsec_`` secret or a ``whpk_`` public key."""
    if (key or "").strip().startswith(PUBLIC_KEY_PREFIX):
        _public_key(key)
    else:
        decode_secret(key)


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


def _content(msg_id, timestamp, body):
    return b"%s.%d.%s" % (_to_bytes(msg_id), int(timestamp), _to_bytes(body))


def sign(secret, msg_id, timestamp, body):
    """Returns the signature of one message: ``v1a,<base64>`` with a
    ``whsk_`` secret key, ``v1,<base64>`` with a ``whsec_`` secret."""
    content = _content(msg_id, timestamp, body)
    if secret.strip().startswith(SIGNING_KEY_PREFIX):
        signature = private_key(secret).sign(content)
        return f"{ASYMMETRIC_VERSION},{base64.b64encode(signature).decode()}"
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
    """Checks a received message against any of ``secrets``: ``v1``
    signatures against ``whsec_`` secrets, ``v1a`` ones against ``whpk_``
    public keys.

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
    candidates = _signatures(parts, SIGNATURE_VERSION)
    asymmetric = _signatures(parts, ASYMMETRIC_VERSION)
    for secret in secrets:
        if secret.strip().startswith(PUBLIC_KEY_PREFIX):
            if _verify_ed25519(secret, msg_id, timestamp, body, asymmetric):
                return msg_id
            continue
        expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
        # compare_digest takes the same time wherever the strings differ; on
        # bytes, so that a forged header with odd characters fails instead
        # of raising.
        if any(
            hmac.compare_digest(expected.encode(), _to_bytes(c)) for c in candidates
        ):
            return msg_id
    raise SignatureError("no signature matches")


def _signatures(parts, version):
    return [part.split(",", 1)[1] for part in parts if part.startswith(version + ",")]


def _verify_ed25519(verifying_key, msg_id, timestamp, body, candidates):
    """Whether any of the base64 ``candidates`` is the Ed25519 signature of
    the message by the ``whpk_`` key."""
    key = _public_key(verifying_key)
    content = _content(msg_id, timestamp, body)
    for candidate in candidates:
        try:
            signature = base64.b64decode(candidate, validate=True)
        except ValueError:
            continue
        if len(signature) != ED25519_SIGNATURE_BYTES:
            continue
        try:
            key.verify(signature, content)
        except InvalidSignature:
            continue
        return True
    return False


def check_timestamp(timestamp, tolerance, now=None):
    """Raises SignatureError when ``timestamp`` is further than ``tolerance``
    seconds from now, in either direction."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"timestamp is {int(now - timestamp)} s away from now "
            f"(tolerance {tolerance} s)"
        )
