"""The steps of a call to a validated incoming webhook that read the HTTP
request, each taking the request as an argument.

The call is resolved once per request (``resolve``) into a frozen
``lib.webhook_settings.Incoming``, kept as ``request.integration_webhook``
(None when the automation at that URL has no validator): ``ir.http``'s
pre-dispatch hook resolves it and checks the transport before any body is
read (``check_transport``); the controller reads it back and goes on with
the same object (``rate_limit``, ``reject``). Nothing here decides: the
checks are ``lib.webhook_validation``'s.
"""

import io

from werkzeug.exceptions import abort

from ..lib import ratelimit, webhook_input, webhook_presets, webhook_settings
from ..lib import webhook_validation as validation

INCOMING_ATTR = "integration_webhook"  # on the request: Incoming, or None
_UNRESOLVED = object()


def resolve(request, webhook_uuid):
    """The ``Incoming`` of the call to ``/web/hook/<webhook_uuid>``, or None
    when that URL has no validated automation; resolved on the first call
    for the request and stored on it, read back on the next ones."""
    incoming = getattr(request, INCOMING_ATTR, _UNRESOLVED)
    if incoming is _UNRESOLVED:
        validators = request.env["integration.webhook.validator"].sudo()
        incoming = validators._webhook_resolve(webhook_uuid)
        setattr(request, INCOMING_ATTR, incoming)
    return incoming


def check_transport(request, incoming):
    """Refuses a call whose announced size or content type the validator
    does not accept, without reading its body; then reads the body, no
    larger than allowed, so that the signature is checked on the exact
    bytes received even when the dispatcher parses it as a form."""
    httprequest = request.httprequest
    settings = incoming.settings
    if is_meta_verification(request, incoming):
        return  # a GET without a body, answered by meta_verification
    chunked = webhook_input.has_transfer_coding(
        httprequest.headers.get("Transfer-Encoding")
    )
    try:
        settings.check_transport(
            httprequest.content_length, httprequest.mimetype, chunked=chunked
        )
    except validation.Rejection as rejection:
        abort(reject(request, incoming, rejection))
    httprequest.max_content_length = settings.max_body_bytes
    _read_body(request, incoming)


def _read_body(request, incoming):
    """Reads the body of the request, no more than the validator's
    ``max_body_bytes`` whatever its framing, and keeps it for the
    dispatcher and the controller; a longer body is refused with 413
    without being read to its end."""
    # Werkzeug reads a body whose server decoded its framing to its end,
    # whatever max_content_length says: the bound is applied here, on
    # werkzeug's own request, which Odoo's does not expose.
    wrapped = request.httprequest._HTTPRequest__wrapped
    try:
        body = webhook_input.read_capped(
            wrapped.stream, incoming.settings.max_body_bytes
        )
    except webhook_input.BodyTooLarge as exc:
        abort(reject(request, incoming, webhook_settings.too_large(exc.limit)))
    wrapped.stream = io.BytesIO(body)
    request.httprequest.get_data()


def reject(request, incoming, rejection, *, body=b""):
    """Records ``rejection`` and returns its JSON answer."""
    env = request.env(su=True)
    settings = incoming.settings
    env["integration.webhook.rejection"]._record(
        rejection,
        validator=env["integration.webhook.validator"].browse(incoming.validator_id),
        webhook_uuid=incoming.webhook_uuid,
        remote_addr=env["ir.http"]._integration_client_address(),
        headers=validation.recorded_headers(
            request.httprequest.headers.items(),
            settings.secrets,
            [settings.custom.header if settings.custom else ""],
        ),
        body_excerpt=validation.body_excerpt(body, settings.secrets),
        message_id=webhook_settings.sender_message_id(
            settings, request.httprequest.headers, body
        ),
    )
    return request.make_json_response(
        rejection.body(), status=rejection.status, headers=rejection.headers
    )


def is_meta_verification(request, incoming):
    """Whether the call is Meta's verification request (a GET) to a
    validator that answers it."""
    return incoming.settings.handshake == "meta" and request.httprequest.method == "GET"


def meta_verification(request, incoming):
    """Answers Meta's verification request with its challenge, as plain
    text, when its verify token is the validator's; refuses it with 403
    (recorded) otherwise. Runs nothing."""
    challenge = webhook_presets.meta_challenge(
        request.httprequest.args, incoming.settings.verify_token
    )
    if challenge is None:
        return reject(
            request,
            incoming,
            validation.Rejection(
                "verify_token", "the verification request has a wrong verify token"
            ),
        )
    return request.make_response(
        challenge, headers=[("Content-Type", "text/plain; charset=utf-8")]
    )


def automation_headers(request, incoming):
    """The call's headers an automation may read (both when it runs during
    the call and from the queue): without credentials, signatures or
    secrets."""
    settings = incoming.settings
    return validation.recorded_headers(
        request.httprequest.headers.items(),
        settings.secrets,
        [settings.custom.header if settings.custom else ""],
    )


def rate_limit(request, incoming, address):
    """Counts the call against the validator's rate limit for ``address``;
    raises Rejection over it. Returns the rate-limit response headers (none
    without a limit)."""
    if not incoming.settings.rate_limits:
        return []
    key = f"webhook:{incoming.validator_id}:{address}"
    # A serialization failure runs the request again: the call was already
    # counted, and is not counted twice.
    counted = getattr(request, "integration_webhook_rate_decision", None)
    if counted and counted[0] == key:
        decision = counted[1]
    else:
        limiter = request.env(su=True)["integration.rate.limiter"]
        decision = limiter._hit(key, incoming.settings.rate_limits)
        request.integration_webhook_rate_decision = (key, decision)
    if decision is None:
        return []
    if not decision.allowed:
        raise webhook_settings.rate_limited(decision, address)
    return ratelimit.decision_headers(decision)
