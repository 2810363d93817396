"""Attempts sent inside OpenTelemetry spans, when ``opentelemetry-api`` is
installed (see :mod:`lib.trace_context`).

:class:`TracingSender` is the :class:`.sender.Sender` the dispatchers use
then: each attempt is a client span, child of the call that caused the
delivery (its ``trace_id`` and ``parent_span_id``), and the
``traceparent`` header sent carries that span's own id, so that the
receiver's spans hang under it.
"""

import dataclasses

from .. import trace_context
from . import sender

try:
    from opentelemetry import trace as otel_trace
except ImportError:  # pragma: no cover - the sender is not used then
    otel_trace = None


def _remote_parent(trace_id, parent_span_id):
    """The context of the caller's span, or None for a new trace."""
    if not trace_id:
        return None
    parent = otel_trace.SpanContext(
        int(trace_id, 16),
        # A caller that sent no span (a click, a cron) is not a span either:
        # one derived from the trace keeps the trace's attempts together.
        int(parent_span_id or trace_id[:16], 16),
        is_remote=True,
        trace_flags=otel_trace.TraceFlags(otel_trace.TraceFlags.SAMPLED),
    )
    return otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(parent))


class TracingSender(sender.Sender):
    """A sender whose every attempt is an OpenTelemetry client span."""

    def send(self, message, deadline=None):
        tracer = otel_trace.get_tracer(trace_context.TRACER_NAME)
        with tracer.start_as_current_span(
            "webhook.attempt",
            context=_remote_parent(message.trace_id, message.parent_span_id),
            kind=otel_trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": "POST",
                "webhook.id": message.msg_id or "",
            },
        ) as span:
            context = span.get_span_context()
            # Without an SDK the span records nothing and carries its
            # parent's ids: the attempt then gets a random span id as usual.
            if span.is_recording() and context.is_valid:
                message = dataclasses.replace(
                    message,
                    trace_id=format(context.trace_id, "032x"),
                    span_id=format(context.span_id, "016x"),
                )
            result = super().send(message, deadline)
            span.set_attribute("http.response.status_code", result.status_code or 0)
            if result.error:
                span.set_attribute("error.type", result.error[:200])
            return result
