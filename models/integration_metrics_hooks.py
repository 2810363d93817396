"""Where the metrics' counters are fed: the dispatcher's records, refused
incoming calls and an unreachable rate-limit backend."""

import dataclasses
import threading

from odoo import api, models
from odoo.tools import SQL

from ..lib import trace_context
from ..lib.outbox import tracing
from .integration_metrics import BACKEND_ERRORS, REJECTED

_tracing_lock = threading.Lock()
_tracing_sender = None


class IntegrationWebhookDispatcher(models.AbstractModel):
    _inherit = "integration.webhook.dispatcher"

    def _store_outcomes(self, now, updates, attempts):
        result = super()._store_outcomes(now, updates, attempts)
        # attempts: (delivery id, endpoint id, started_at, duration_ms,
        # status_code, ...), as lib.outbox.delivery.attempt_row() orders them.
        self.env["integration.metrics"]._count_attempts(
            [(row[1], row[4], row[3]) for row in attempts]
        )
        if any(update[1] == "dead" for update in updates):
            # Someone is told once the batch is stored (see the alerts cron).
            self.env.ref(
                "integration_gateway.ir_cron_endpoint_alerts"
            ).sudo()._trigger()
        return result

    @api.model
    def _sender(self):
        # With opentelemetry-api installed, every attempt is a span of its
        # delivery's trace (lib.outbox.tracing).
        if not trace_context.TRACING:
            return super()._sender()
        global _tracing_sender
        with _tracing_lock:
            if _tracing_sender is None:
                _tracing_sender = tracing.TracingSender()
            return _tracing_sender

    @api.model
    def _dispatch_batch(self, limit=None):
        kwargs = {} if limit is None else {"limit": limit}
        with trace_context.span("webhook.dispatch_batch"):
            return super()._dispatch_batch(**kwargs)

    @api.model
    def _claim(self, limit, lease=None):
        claimed, messages, settings = super()._claim(limit, lease)
        if claimed:
            # The trace of the call that caused each delivery: every attempt
            # sends it in traceparent.
            self.env.cr.execute(
                SQL(
                    "SELECT id, trace_id, parent_span_id"
                    "  FROM integration_webhook_delivery WHERE id = ANY(%s)",
                    [row["id"] for row in claimed],
                )
            )
            traces = {row[0]: row[1:] for row in self.env.cr.fetchall()}
            messages = [
                dataclasses.replace(
                    message,
                    trace_id=traces.get(row["id"], (None, None))[0],
                    parent_span_id=traces.get(row["id"], (None, None))[1] or None,
                )
                for row, message in zip(claimed, messages, strict=True)
            ]
        return claimed, messages, settings


class IntegrationWebhookRejection(models.Model):
    _inherit = "integration.webhook.rejection"

    @api.model
    def _record(self, rejection, *, validator, **kwargs):
        result = super()._record(rejection, validator=validator, **kwargs)
        self.env["integration.metrics"]._count(
            REJECTED, validator.id, rejection.reason, validator.sudo().name
        )
        return result


class IntegrationRateLimiter(models.AbstractModel):
    _inherit = "integration.rate.limiter"

    def _unreachable(self, backend, exc, consequence):
        result = super()._unreachable(backend, exc, consequence)
        self.env["integration.metrics"]._count(BACKEND_ERRORS, label=backend.name)
        return result
