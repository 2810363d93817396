"""Validation of incoming webhook calls, free of the ORM.

A validator checks a call in a fixed order, cheapest and least trusting
first, and stops at the first failure:

1. before the body is read (``check_transport``): its announced size, then
   its content type;
2. once the body is read (``check_message``): the source network, the rate
   limit (a callable given by the caller), the signature and its timestamp,
   the JSON body (only for JSON content types, or when a schema is set), and
   the nesting depth of a JSON body, the JSON Schema, and the message id.

The last check, whether the message was already processed, needs the
database and belongs to the caller. A refused call raises ``Rejection``,
which carries the HTTP status, a reason code and a message for the sender.
"""

import json
import re
import urllib.parse
from dataclasses import dataclass, field

from . import json_schema
from . import networks as _networks
from . import webhook_presets as presets
from . import webhook_signatures as signatures
from .messages import Refusal, _lt
from .webhook_input import (
    MAX_JSON_DEPTH,
    json_depth_exceeds,
    message_id_problem,
    printable,
)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any sender's event
DEFAULT_REPLAY_WINDOW = 24 * 3600  # seconds: the retry span of most senders
MAX_SCHEMA_ERRORS = 10  # reported in one answer; the sender fixes them in turn
EXCERPT_BYTES = 2048  # of a refused body kept for the record
MAX_RECORDED_HEADERS = 40
MAX_HEADER_VALUE = 256  # characters kept of each recorded header
REMOVED = "[removed]"

# The answer to each reason a call is refused for.
STATUS = {
    "length_required": 411,
    "too_large": 413,
    "content_type": 415,
    "network": 403,
    "rate_limit": 429,
    "signature": 401,
    "not_json": 400,
    "no_message_id": 400,
    "message_id": 400,
    "too_deep": 400,
    "schema": 422,
    "verify_token": 403,
}

# Headers that carry credentials or signatures are never recorded: a
# signature with its body would let whoever reads the record replay it.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "webhook-signature",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-shopify-hmac-sha256",
        *presets.SIGNATURE_HEADERS,
    }
)
CREDENTIAL_WORDS = ("token", "secret", "password", "passwd", "api-key", "apikey")


class Rejection(Exception):
    """A call refused by a validator.

    ``reason`` is one of ``STATUS``'s keys, ``message`` says what is wrong in
    words the sender can act on, ``errors`` lists details (schema errors as
    ``{"path": <JSON pointer>, "message": ...}``) and ``headers`` are extra
    response headers (``Retry-After`` on 429).
    """

    def __init__(self, reason, message, *, errors=(), headers=None):
        super().__init__(message)
        self.reason = reason
        self.status = STATUS[reason]
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def body(self):
        """The JSON answer: core's ``{"status": "error"}`` with the reason."""
        body = {"status": "error", "error": self.reason, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class Accepted:
    """A call that passed every check: its payload (None when the content
    type is not JSON and no schema is set, so the caller keeps its own
    reading of the request) and the sender's message id (None when the
    validator does not protect against replays). A provider's handshake
    (see ``webhook_presets``) is accepted with the ``handshake`` answer to
    send, and runs nothing."""

    payload: object = None
    parsed: bool = False
    message_id: str | None = None
    handshake: dict | None = None


@dataclass(frozen=True)
class Settings:
    """What one validator checks, parsed once from its configuration."""

    scheme: str = "none"
    secrets: tuple = field(default=(), repr=False)
    tolerance: int = signatures.DEFAULT_TOLERANCE
    custom: signatures.CustomHmac | None = None
    id_header: str = ""
    replay_protection: bool = False
    replay_window: int = DEFAULT_REPLAY_WINDOW
    schema: str = ""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    content_types: tuple = ()
    networks: tuple = ()
    rate_limits: tuple = ()  # of lib.ratelimit.Limit, counted by the caller
    handshake: str = "none"  # one of webhook_presets.HANDSHAKES
    verify_token: str = field(default="", repr=False)  # Meta's handshake
    queued: bool = False  # stored and answered 202, run later by a cron
    ordered: bool = False  # queued messages run one at a time, in order
    retry_schedule: tuple = ()  # seconds before each retry of a queued message

    def check_transport(self, content_length, mimetype, *, chunked=False):
        """Size and content type, from the headers only: the body is not
        read. ``chunked`` is a body sent with a transfer coding (see
        ``webhook_input.has_transfer_coding``)."""
        check_size(content_length, self.max_body_bytes, chunked=chunked)
        check_content_type(mimetype, self.content_types)

    def check_message(self, call, *, rate_limit=None, now=None):
        """Source network, rate limit, signature, JSON body and schema of a
        call whose size and content type passed. ``rate_limit`` is called
        after the network check and raises Rejection over the limit.
        Returns ``Accepted``."""
        check_network(call.address, self.networks)
        if rate_limit is not None:
            rate_limit()
        check_signature(self, call, now=now)
        parsed = bool(self.schema) or is_json_type(call.mimetype)
        payload = parse_json(call.body) if parsed else None
        if parsed:
            check_depth(payload)
            answer = presets.handshake_answer(self.handshake, payload, self.secrets)
            if answer is not None:
                return Accepted(payload=payload, parsed=True, handshake=answer)
        if self.schema:
            check_schema(compile_schema(self.schema), payload)
        message_id = None
        if self.replay_protection:
            message_id = signatures.message_id(
                self.scheme, call.headers, payload, self.id_header
            )
            if not message_id:
                where = signatures.message_id_source(self.scheme, self.id_header)
                raise Rejection(
                    "no_message_id",
                    f"the message has no id ({where}) to recognise its retries by",
                )
            problem = message_id_problem(message_id)
            if problem:
                raise Rejection("message_id", problem)
        return Accepted(payload=payload, parsed=parsed, message_id=message_id)


@dataclass(frozen=True)
class Call:
    """What a validator reads of one request, once its body is read."""

    mimetype: str
    address: str
    headers: object  # werkzeug Headers or a dict
    body: bytes = b""
    url: str = ""  # as the sender called it (Odoo's proxy_mode rules applied)


# The checks, in their order ---------------------------------------------------


def check_size(content_length, max_bytes, *, chunked=False):
    """Refuses a body announced larger than ``max_bytes``, before reading it.

    A body sent with a transfer coding (``chunked``, in any case)
    announces no size, whatever its ``Content-Length`` says; it could only
    be measured by reading it, so it is refused with 411 and the sender
    asked for a Content-Length.
    """
    if chunked:
        raise Rejection(
            "length_required",
            "send the body with a Content-Length header; bodies sent with a "
            "transfer coding (chunked) are refused",
        )
    if content_length is not None and content_length > max_bytes:
        raise Rejection(
            "too_large",
            f"the body has {content_length} bytes; this webhook accepts at most "
            f"{max_bytes}",
        )


def parse_content_types(text):
    """Parses a comma-, space- or newline-separated list of media types, with
    ``*`` wildcards (``application/json``, ``application/*+json``). Returns
    a tuple of lower-case patterns; raises ValueError on an entry that is not
    ``type/subtype``."""
    patterns = []
    for entry in (text or "").replace(",", " ").split():
        kind, sep, sub = entry.lower().partition("/")
        if not (kind and sep and sub) or "/" in sub or ";" in entry:
            raise Refusal(
                _lt("%(entry)s is not a media type such as application/json"),
                entry=repr(entry),
            )
        patterns.append(f"{kind}/{sub}")
    return tuple(patterns)


def content_type_allowed(mimetype, patterns):
    """True when ``mimetype`` (without parameters) matches one of
    ``patterns``; any type is allowed when there are none."""
    if not patterns:
        return True
    mimetype = (mimetype or "").lower()
    return any(_media_type_matches(mimetype, pattern) for pattern in patterns)


def _media_type_matches(mimetype, pattern):
    # Only ``*`` is special: fnmatch would also read ``[`` and ``?``.
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, mimetype) is not None


def check_content_type(mimetype, patterns):
    if not content_type_allowed(mimetype, patterns):
        raise Rejection(
            "content_type",
            f"content type {mimetype or '(none)'} is not accepted; send "
            + " or ".join(patterns),
        )


def check_network(address, networks):
    if networks and not _networks.address_in(address, networks):
        raise Rejection("network", f"calls from {address} are not accepted")


def check_signature(settings, call, *, now=None):
    try:
        signatures.verify(
            settings.scheme,
            settings.secrets,
            call.headers,
            call.body,
            tolerance=settings.tolerance,
            now=now,
            custom=settings.custom,
            url=call.url,
            mimetype=call.mimetype,
        )
    except signatures.SignatureError as exc:
        raise Rejection("signature", f"signature refused: {exc}") from exc


def is_json_type(mimetype):
    """True for ``*/json`` and ``*/*+json`` media types."""
    mimetype = (mimetype or "").lower()
    kind, _sep, sub = mimetype.partition("/")
    return bool(kind) and (sub == "json" or sub.endswith("+json"))


def signed_form_payload(mimetype, body):
    """The payload of a signed call whose body is not JSON: the fields of a
    form-encoded body (``application/x-www-form-urlencoded``, as GitHub
    sends when asked to), nothing for any other type."""
    if mimetype != "application/x-www-form-urlencoded":
        return {}
    text = body.decode("utf-8", "replace")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def check_depth(payload, limit=MAX_JSON_DEPTH):
    """Refuses JSON nested deeper than ``limit`` levels, before a recursive
    schema is checked against it."""
    if json_depth_exceeds(payload, limit):
        raise Rejection(
            "too_deep", f"the body nests objects and arrays deeper than {limit} levels"
        )


def parse_json(body):
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Rejection("not_json", f"the body is not valid JSON: {exc}") from exc


# JSON Schema ---------------------------------------------------------------


# Compiled once per schema text and worker, by the fastest engine at hand.
compile_schema = json_schema.compile_schema
json_pointer = json_schema.json_pointer
MAX_ERROR_MESSAGE = json_schema.MAX_ERROR_MESSAGE


def schema_errors(validator, payload, limit=MAX_SCHEMA_ERRORS):
    """The first ``limit`` errors of ``payload`` against the compiled
    schema ``validator``, each ``{"path": <JSON pointer>, "message": ...}``."""
    try:
        return validator.errors(payload, limit)
    except RecursionError as exc:
        # A schema that recurses deeper than Python allows, even within the
        # nesting limit.
        raise Rejection(
            "too_deep", "the body nests too deeply to be checked against the schema"
        ) from exc
    except OverflowError as exc:
        # An integer of hundreds of digits compared with a float keyword
        # (multipleOf: 0.01) by the pure-Python engine.
        raise Rejection(
            "schema", f"a number in the body is too large for the schema: {exc}"
        ) from exc


def check_schema(validator, payload):
    errors = schema_errors(validator, payload)
    if errors:
        first = errors[0]
        raise Rejection(
            "schema",
            f"the body does not match the schema: {first['message']} "
            f"at {first['path'] or '/'}",
            errors=errors,
        )


# What is recorded of a refused call -----------------------------------------


def recorded_headers(headers, secrets=(), extra_names=()):
    """The headers of a refused call as they may be recorded: credentials,
    signatures and any value holding one of ``secrets`` are replaced by
    ``[removed]``, long values are cut. ``headers`` is a list of pairs or a
    mapping; returns a dict."""
    items = headers.items() if hasattr(headers, "items") else headers
    removed_names = CREDENTIAL_HEADERS | {name.lower() for name in extra_names if name}
    secrets = [secret for secret in secrets if secret]
    recorded = {}
    for name, value in items:
        if len(recorded) >= MAX_RECORDED_HEADERS:
            break
        lower = name.lower()
        if (
            lower in removed_names
            or any(word in lower for word in CREDENTIAL_WORDS)
            or any(secret in value for secret in secrets)
        ):
            value = REMOVED
        elif len(value) > MAX_HEADER_VALUE:
            value = value[: MAX_HEADER_VALUE - 1] + "…"
        recorded[printable(name)] = printable(value)
    return recorded


def body_excerpt(body, secrets=(), limit=EXCERPT_BYTES):
    """The start of a refused body as text, for the record; a body holding
    one of ``secrets`` is not recorded."""
    if not body:
        return ""
    text = bytes(body[:limit]).decode("utf-8", "replace")
    if any(secret and secret in text for secret in secrets):
        return REMOVED
    # PostgreSQL refuses NUL in text.
    return printable(text) + ("…" if len(body) > limit else "")
