"""A validator's configuration compiled for the requests it checks, free of
the ORM.

``compile_settings`` turns the stored values of one validator into the
frozen ``webhook_validation.Settings`` that every check reads; it is built
once per validator and worker, and again only when a validator or an
automation changes. A call to ``/web/hook/<uuid>`` is resolved once into an
``Incoming``: which validator checks it, with which settings, and which
automation it runs.

The replay window is stored in hours, the unit its field shows, and used in
seconds everywhere else: ``REPLAY_WINDOW_UNIT`` is the one conversion.
"""

import json
from dataclasses import dataclass

from . import networks, ratelimit, webhook_input
from . import webhook_signatures as signatures
from . import webhook_validation as validation
from .outbox import retry

REPLAY_WINDOW_UNIT = 3600  # seconds in one unit of the stored replay window (hours)
DEFAULT_REPLAY_WINDOW_HOURS = validation.DEFAULT_REPLAY_WINDOW // REPLAY_WINDOW_UNIT

# The stored values ``compile_settings`` reads, by field name.
FIELDS = (
    "signature_scheme",
    "secret",
    "secondary_secret",
    "timestamp_tolerance",
    "signature_header",
    "signature_algorithm",
    "signature_encoding",
    "signature_prefix",
    "message_id_header",
    "replay_protection",
    "replay_window",
    "json_schema",
    "max_body_bytes",
    "allowed_content_types",
    "allowed_networks",
    "rate_limit",
    "processing",
    "ordered",
    "handshake",
    "verify_token",
    "queue_retry_schedule",
)
# Context keys under which an automation run for a validated call finds the
# payload its validator accepted and the call's headers (without
# credentials), whether it runs during the call or from the incoming queue.
PAYLOAD_CONTEXT_KEY = "integration_webhook_payload"
HEADERS_CONTEXT_KEY = "webhook_headers"
# Delays before each retry of a queued message whose automation failed: a
# lock or a serialization failure clears in minutes, an outage within a day.
DEFAULT_QUEUE_SCHEDULE = "1m,5m,30m,2h,8h,24h"


def replay_window_seconds(stored):
    """The replay window in seconds, from its stored value (hours).

    >>> replay_window_seconds(DEFAULT_REPLAY_WINDOW_HOURS)
    86400
    """
    return stored * REPLAY_WINDOW_UNIT


def compile_settings(values):
    """``webhook_validation.Settings`` from a validator's stored ``values``
    (a mapping of ``FIELDS``; empty fields as False or None). Raises
    ValueError on a value its field's constraint would refuse.

    >>> settings = compile_settings({
    ...     "signature_scheme": "custom_hmac", "secret": "one",
    ...     "secondary_secret": False, "timestamp_tolerance": 300,
    ...     "signature_header": " X-Sig ", "signature_algorithm": False,
    ...     "signature_encoding": False, "signature_prefix": False,
    ...     "message_id_header": False, "replay_protection": False,
    ...     "replay_window": 2, "json_schema": False, "max_body_bytes": 1024,
    ...     "allowed_content_types": "application/json",
    ...     "allowed_networks": False, "rate_limit": False,
    ... })
    >>> settings.secrets, settings.custom.header, settings.custom.algorithm
    (('one',), 'X-Sig', 'sha256')
    >>> settings.replay_window, settings.content_types
    (7200, ('application/json',))
    >>> settings.queued, settings.handshake, settings.retry_schedule[-1]
    (False, 'none', 86400)
    """
    custom = None
    if values["signature_scheme"] == "custom_hmac":
        custom = signatures.CustomHmac(
            header=values["signature_header"].strip(),
            algorithm=values["signature_algorithm"] or "sha256",
            encoding=values["signature_encoding"] or "hex",
            prefix=values["signature_prefix"] or "",
        )
    secrets = (values["secret"], values["secondary_secret"])
    return validation.Settings(
        scheme=values["signature_scheme"],
        secrets=tuple(secret for secret in secrets if secret),
        tolerance=values["timestamp_tolerance"],
        custom=custom,
        id_header=(values["message_id_header"] or "").strip(),
        replay_protection=values["replay_protection"],
        replay_window=replay_window_seconds(values["replay_window"]),
        schema=values["json_schema"] or "",
        max_body_bytes=values["max_body_bytes"],
        content_types=validation.parse_content_types(values["allowed_content_types"]),
        networks=networks.parse_networks(values["allowed_networks"]),
        rate_limits=ratelimit.parse_limits(values["rate_limit"]),
        handshake=values.get("handshake") or "none",
        verify_token=values.get("verify_token") or "",
        queued=values.get("processing") == "queued",
        ordered=bool(values.get("ordered")),
        retry_schedule=retry.parse_schedule(
            values.get("queue_retry_schedule") or DEFAULT_QUEUE_SCHEDULE
        ),
    )


@dataclass(frozen=True)
class Incoming:
    """One call to a validated webhook, resolved once per request: the
    validator that checks it (``validator_id``, its ``settings``) and the
    automation it runs (``automation_id``)."""

    webhook_uuid: str
    validator_id: int
    automation_id: int
    settings: validation.Settings


def sender_message_id(settings, headers, body=b""):
    """The id the sender gave a message, whether or not the call is
    accepted, for the record of a refusal: from the scheme's header, or
    from a small JSON body for schemes that carry it there; None when
    there is none (or it is too long to be an id).

    >>> settings = validation.Settings(scheme="github")
    >>> sender_message_id(settings, {"X-GitHub-Delivery": "d-1"})
    'd-1'
    >>> sender_message_id(validation.Settings(scheme="stripe"), {}, b'{"id": "ev"}')
    'ev'
    >>> sender_message_id(validation.Settings(scheme="stripe"), {}, b'{') is None
    True
    """
    payload = None
    if settings.scheme in signatures.BODY_MESSAGE_IDS and body:
        if len(body) > validation.EXCERPT_BYTES * 32:
            return None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return None
    found = signatures.message_id(settings.scheme, headers, payload, settings.id_header)
    if not found or webhook_input.message_id_problem(found):
        return None
    return found


def too_large(limit):
    """The refusal of a body found longer than ``limit`` bytes while read.

    >>> too_large(10).status
    413
    """
    return validation.Rejection(
        "too_large",
        f"the body is longer than {limit} bytes, the most this webhook accepts",
    )


def rate_limited(decision, address):
    """The refusal of a call from ``address`` over the validator's rate
    limit, by the limiter's ``decision``, with its rate-limit headers."""
    return validation.Rejection(
        "rate_limit",
        f"more than {decision.limit} calls from {address}; retry in "
        f"{ratelimit.retry_after_seconds(decision)} seconds",
        headers=ratelimit.decision_headers(decision),
    )
