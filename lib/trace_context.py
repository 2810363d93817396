"""W3C Trace Context: from the call that caused an event to the webhooks
it sends.

An incoming request (a JSON/2 call, an incoming webhook) carrying a valid
``traceparent`` header has its trace id kept on every delivery its
transaction writes (``trace_id``, 32 hex digits, and ``parent_span_id``,
the caller's span, 16 hex digits); an event without one starts a trace of
its own. Every attempt of a delivery sends ``traceparent`` with the
delivery's trace id and a new span id (:func:`outgoing_headers`), so that a
tracing backend shows the receiver's work under the call that caused it.

No OpenTelemetry SDK is needed. When ``opentelemetry-api`` is importable
(``TRACING``), :func:`span` opens real spans (dispatch batches) and
:class:`lib.outbox.tracing.TracingSender` sends each attempt inside a span
of its delivery's trace, whose id is the one ``traceparent`` carries;
otherwise :func:`span` does nothing and attempts get a random span id.
"""

import contextlib
import re
import secrets

try:  # optional: spans only where an OpenTelemetry API is installed
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - depends on the deployment
    _otel_trace = None

TRACING = _otel_trace is not None  # spans are emitted
VERSION = "00"
SAMPLED = "01"  # trace flags: the caller recorded its span
TRACER_NAME = "odoo.integration_gateway"
_HEADER = re.compile(
    r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$"
)
_INVALID_TRACE = "0" * 32
_INVALID_SPAN = "0" * 16


def parse(header):
    """``(trace id, parent span id)`` of a ``traceparent`` header, or None
    when it is missing or not valid (then the event starts its own trace,
    as the specification says).

    >>> parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')
    >>> parse(" 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')
    >>> parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01") is None
    True
    >>> parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") is None
    True
    >>> parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x") is None
    True
    >>> parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')
    >>> parse(None), parse("garbage")
    (None, None)
    """
    match = _HEADER.match((header or "").strip().lower())
    if not match:
        return None
    version, trace_id, span_id, _flags, rest = match.groups()
    if version == "ff" or (version == VERSION and rest):
        return None
    if trace_id == _INVALID_TRACE or span_id == _INVALID_SPAN:
        return None
    return trace_id, span_id


def new_trace_id():
    """A random trace id (32 hex digits, never all zeros).

    >>> len(new_trace_id()), new_trace_id() != new_trace_id()
    (32, True)
    """
    while (value := secrets.token_hex(16)) == _INVALID_TRACE:  # pragma: no cover
        pass
    return value


def new_span_id():
    """A random span id (16 hex digits, never all zeros)."""
    while (value := secrets.token_hex(8)) == _INVALID_SPAN:  # pragma: no cover
        pass
    return value


def traceparent(trace_id, span_id):
    """The ``traceparent`` header value of a span.

    >>> traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "b7ad6b7169203331")
    '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01'
    """
    return f"{VERSION}-{trace_id}-{span_id}-{SAMPLED}"


def outgoing_headers(trace_id, span_id=None):
    """The trace header of one attempt of a delivery of trace ``trace_id``:
    the same trace, a new span (``span_id`` when the attempt's span has
    one); a new trace when there is none.

    >>> trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    >>> first = parse(outgoing_headers(trace)["traceparent"])
    >>> second = parse(outgoing_headers(trace)["traceparent"])
    >>> first[0] == second[0] == trace, first[1] != second[1]
    (True, True)
    >>> len(parse(outgoing_headers(None)["traceparent"])[0])
    32
    >>> outgoing_headers(trace, "b7ad6b7169203331")["traceparent"][36:]
    'b7ad6b7169203331-01'
    """
    return {
        "traceparent": traceparent(
            trace_id or new_trace_id(), (trace_id and span_id) or new_span_id()
        )
    }


def span(name, **attributes):
    """A context manager around a unit of work: an OpenTelemetry span named
    ``name`` when ``opentelemetry-api`` is installed, nothing otherwise.

    >>> with span("webhook.dispatch", batch=3):
    ...     pass
    """
    if _otel_trace is None:
        return contextlib.nullcontext()
    tracer = _otel_trace.get_tracer(TRACER_NAME)
    return tracer.start_as_current_span(name, attributes=attributes)
