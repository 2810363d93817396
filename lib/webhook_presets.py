"""Signature presets and handshakes of providers that do not follow one of
the general schemes: Slack, Twilio, Zoom and Meta (Facebook, Instagram,
WhatsApp).

- ``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256>`` of
  ``v0:{timestamp}:{body}``, the time in ``X-Slack-Request-Timestamp``;
  message id: the body's ``event_id`` (Events API).
- ``twilio``: ``X-Twilio-Signature: <base64 HMAC-SHA1>`` of the full URL
  followed by every form parameter, sorted by name, name and value joined;
  message id: ``I-Twilio-Idempotency-Token``.
- ``zoom``: ``x-zm-signature: v0=<hex HMAC-SHA256>`` of
  ``v0:{timestamp}:{body}``, the time in ``x-zm-request-timestamp``; no
  message id stays the same on retries (name a header for replays).
- ``meta``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`` of the raw
  body with the app secret; no message id either.

Twilio signs the URL it called. Behind a reverse proxy that URL is the
public one, which Odoo rebuilds from ``X-Forwarded-Host`` and
``X-Forwarded-Proto`` only when it runs with ``proxy_mode``: the caller
passes the URL as Odoo's request has it. A JSON body is not in Twilio's
signature: Twilio adds its SHA-256 to the URL (``bodySHA256``), which is
checked against the body.

Handshakes prove to a provider that the receiver is the one it is
configured for, before it sends events; none of them runs an automation:

* Slack ``url_verification``: a signed JSON body whose ``challenge`` is
  answered as is;
* Zoom ``endpoint.url_validation``: a signed JSON body whose
  ``payload.plainToken`` is answered with its hex HMAC-SHA256 under the
  secret token (``encryptedToken``);
* Meta: ``GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``
  answered with the challenge when the verify token is the validator's.
"""

import base64
import hashlib
import hmac
import urllib.parse

from .standard_webhooks import SignatureError, check_timestamp, parse_timestamp

PRESETS = ("slack", "twilio", "zoom", "meta")
HANDSHAKES = ("none", "slack", "meta", "zoom")
TIMESTAMP_PRESETS = frozenset({"slack", "zoom"})

SLACK_SIGNATURE = "X-Slack-Signature"
SLACK_TIMESTAMP = "X-Slack-Request-Timestamp"
ZOOM_SIGNATURE = "x-zm-signature"
ZOOM_TIMESTAMP = "x-zm-request-timestamp"
TWILIO_SIGNATURE = "X-Twilio-Signature"
TWILIO_BODY_HASH = "bodySHA256"
META_SIGNATURE = "X-Hub-Signature-256"
META_PREFIX = "sha256="
V0_PREFIX = "v0="
FORM_TYPE = "application/x-www-form-urlencoded"

# Where a preset's sender puts a message's id; ``BODY_MESSAGE_IDS`` are keys
# of the JSON body. Zoom and Meta send none that stays the same on retries.
MESSAGE_ID_HEADERS = {"twilio": "I-Twilio-Idempotency-Token"}
BODY_MESSAGE_IDS = {"slack": "event_id"}
# Headers never recorded nor shown to an automation: they carry signatures.
SIGNATURE_HEADERS = frozenset(
    name.lower() for name in (SLACK_SIGNATURE, ZOOM_SIGNATURE, TWILIO_SIGNATURE)
)


def _hmac_hex(secret, content):
    return hmac.new(_bytes(secret), _bytes(content), hashlib.sha256).hexdigest()


def _bytes(value):
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return value.encode("utf-8", "backslashreplace")


def _header(headers, name):
    if isinstance(headers, dict):
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    else:
        value = headers.get(name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value.strip()


def _any_matches(candidates, received):
    received = _bytes(received)
    return any(hmac.compare_digest(_bytes(c), received) for c in candidates)


def sign_v0(secret, timestamp, body):
    """The ``v0=`` signature Slack and Zoom send for ``body`` at ``timestamp``.

    Slack's documented example (signing secret, time, slash command body):

    >>> body = (
    ...     b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
    ...     b"testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
    ...     b"U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    ...     b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J"
    ...     b"%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015"
    ...     b".47445629121.803a0bc887a14d10d2c447fce8b6703c")
    >>> sign_v0("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body)
    'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503'
    """
    return V0_PREFIX + _hmac_hex(secret, b"v0:%d:%s" % (int(timestamp), _bytes(body)))


def verify_v0(preset, secrets, headers, body, tolerance, now=None):
    """Checks Slack's or Zoom's ``v0=`` signature of ``v0:{ts}:{body}`` and
    the timestamp's distance from now; returns the timestamp."""
    signature_name, timestamp_name = {
        "slack": (SLACK_SIGNATURE, SLACK_TIMESTAMP),
        "zoom": (ZOOM_SIGNATURE, ZOOM_TIMESTAMP),
    }[preset]
    timestamp = parse_timestamp(_header(headers, timestamp_name), timestamp_name)
    received = _header(headers, signature_name)
    if not received.startswith(V0_PREFIX):
        raise SignatureError(f"{signature_name} does not start with {V0_PREFIX}")
    check_timestamp(timestamp, tolerance, now)
    if not _any_matches([sign_v0(s, timestamp, body) for s in secrets], received):
        raise SignatureError("no signature matches")
    return timestamp


def sign_meta(secret, body):
    """The ``X-Hub-Signature-256`` Meta sends, under the app secret."""
    return META_PREFIX + _hmac_hex(secret, body)


def verify_meta(secrets, headers, body):
    received = _header(headers, META_SIGNATURE)
    if not received.startswith(META_PREFIX):
        raise SignatureError(f"{META_SIGNATURE} does not start with {META_PREFIX}")
    received = META_PREFIX + received[len(META_PREFIX) :].lower()
    if not _any_matches([sign_meta(s, body) for s in secrets], received):
        raise SignatureError("no signature matches")


def twilio_content(url, params=()):
    """What Twilio signs: the URL followed by each (name, value) of the
    form's ``params``, sorted by name then value, name and value joined.

    >>> twilio_content("https://x.test/h?a=1", [("To", "+1"), ("Body", "hi")])
    'https://x.test/h?a=1BodyhiTo+1'
    """
    return url + "".join(name + value for name, value in sorted(params))


def sign_twilio(secret, url, params=()):
    """The ``X-Twilio-Signature`` of a call to ``url`` with form ``params``;
    Twilio's documented example:

    >>> sign_twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", [
    ...     ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"),
    ...     ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212")])
    '0/KCTR6DLpKmkAf8muzZqo1nDgQ='
    """
    digest = hmac.new(
        _bytes(secret), _bytes(twilio_content(url, params)), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def verify_twilio(secrets, headers, body, url, mimetype):
    """Checks ``X-Twilio-Signature`` over ``url`` and, for a form body, its
    sorted parameters; for another body, its SHA-256 in the URL's
    ``bodySHA256`` parameter."""
    received = _header(headers, TWILIO_SIGNATURE)
    if not url:
        raise SignatureError("the URL Twilio called is unknown")
    params = []
    if mimetype == FORM_TYPE:
        text = _bytes(body).decode("utf-8", "replace")
        params = urllib.parse.parse_qsl(text, keep_blank_values=True)
    else:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        expected = hashlib.sha256(_bytes(body)).hexdigest()
        given = (query.get(TWILIO_BODY_HASH) or [""])[0].lower()
        if body and not hmac.compare_digest(expected, _bytes(given).decode()):
            raise SignatureError(f"the body does not match {TWILIO_BODY_HASH}")
    if not _any_matches([sign_twilio(s, url, params) for s in secrets], received):
        raise SignatureError("no signature matches")


def verify(preset, secrets, headers, body, *, tolerance, now=None, url="", mimetype=""):
    """Checks the signature of a message per ``preset`` (one of
    ``PRESETS``); raises SignatureError saying why it is refused."""
    if preset in TIMESTAMP_PRESETS:
        verify_v0(preset, secrets, headers, body, tolerance, now)
    elif preset == "twilio":
        verify_twilio(secrets, headers, body, url, mimetype)
    elif preset == "meta":
        verify_meta(secrets, headers, body)
    else:
        raise SignatureError(f"unknown signature preset {preset!r}")


# Handshakes -----------------------------------------------------------------


def handshake_answer(handshake, payload, secrets=()):
    """The answer to a signed POST that is ``handshake``'s challenge (a dict
    to send as JSON), or None when ``payload`` is an ordinary message.

    >>> handshake_answer("slack", {"type": "url_verification", "challenge": "c"})
    {'challenge': 'c'}
    >>> handshake_answer("zoom", {"event": "endpoint.url_validation",
    ...     "payload": {"plainToken": "t"}}, ["s"])["encryptedToken"][:12]
    '61f074c3fcd0'
    >>> handshake_answer("slack", {"type": "event_callback"}) is None
    True
    """
    if not isinstance(payload, dict):
        return None
    if handshake == "slack" and payload.get("type") == "url_verification":
        return {"challenge": str(payload.get("challenge", ""))}
    if handshake == "zoom" and payload.get("event") == "endpoint.url_validation":
        inner = payload.get("payload")
        token = inner.get("plainToken") if isinstance(inner, dict) else None
        if not isinstance(token, str) or not secrets:
            return None
        return {"plainToken": token, "encryptedToken": _hmac_hex(secrets[0], token)}
    return None


def meta_challenge(args, verify_token):
    """The challenge to answer Meta's verification request whose query
    arguments are ``args``, or None when it is not one or its verify token
    is not ``verify_token`` (compared in constant time).

    >>> meta_challenge({"hub.mode": "subscribe", "hub.verify_token": "v",
    ...                 "hub.challenge": "42"}, "v")
    '42'
    >>> meta_challenge({"hub.mode": "subscribe", "hub.verify_token": "w",
    ...                 "hub.challenge": "42"}, "v") is None
    True
    """
    if args.get("hub.mode") != "subscribe" or not verify_token:
        return None
    given = args.get("hub.verify_token") or ""
    if not hmac.compare_digest(_bytes(given), _bytes(verify_token)):
        return None
    return args.get("hub.challenge") or None
