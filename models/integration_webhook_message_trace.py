from odoo import api, fields, models

from ..lib import trace_context
from .integration_webhook_delivery_trace import TRACE_KEY


class IntegrationWebhookMessage(models.Model):
    """A queued message's trace, its metrics, and the deliveries it caused.

    The message keeps the W3C trace of the call that brought it (its
    ``traceparent``, or a trace started for it); when the incoming queue
    runs it, the deliveries its automation queues carry that trace and
    link back to the message, as those of a message run during the call
    do. Each run is counted (``incoming_queue_attempts_total``, and
    ``incoming_queue_failures_total`` when the automation failed).
    """

    _inherit = "integration.webhook.message"

    trace_id = fields.Char(
        readonly=True,
        copy=False,
        help="W3C trace id of the call that brought the message; the webhook "
        "deliveries its automation queues carry it.",
    )
    parent_span_id = fields.Char(
        string="Parent Span ID",
        readonly=True,
        copy=False,
        help="The caller's span, from its traceparent header.",
    )
    delivery_count = fields.Integer(
        string="Webhook Deliveries", compute="_compute_delivery_count"
    )

    # What a scrape counts: the messages waiting or dead, per validator.
    _metrics_index = models.Index(
        "(validator_id, state, received_at)"
        " WHERE state IN ('queued', 'retrying', 'dead')"
    )

    def _compute_delivery_count(self):
        counts = dict(
            self.env["integration.webhook.delivery"]._read_group(
                [("origin_message_id", "in", self.ids)],
                ["origin_message_id"],
                ["__count"],
            )
        )
        for message in self:
            message.delivery_count = counts.get(message, 0)

    def action_open_caused_deliveries(self):
        """The webhook deliveries this message's automation queued."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.integration_webhook_delivery_action"
        )
        action["domain"] = [("origin_message_id", "=", self.id)]
        action["context"] = {}
        action["name"] = self.env._(
            "Deliveries of message %(message)s", message=self.message_id
        )
        return action

    def _integration_trace_values(self):
        """The trace and origin the deliveries of this message's run get."""
        self.ensure_one()
        return {
            "origin_kind": "incoming_webhook",
            "origin_automation_id": self.automation_id.id,
            "origin_message_id": self.id,
            # Messages stored before they had a trace start one.
            "trace_id": self.trace_id or trace_context.new_trace_id(),
            "parent_span_id": self.parent_span_id or False,
        }

    def _run(self):
        # The cron has no request to read the trace from: the deliveries
        # written in this run take the message's (see
        # integration.webhook.delivery._integration_trace).
        self.ensure_one()
        data = self.env.cr.precommit.data
        outer = data.pop(TRACE_KEY, None)
        data[TRACE_KEY] = self._integration_trace_values()
        try:
            result = super()._run()
        finally:
            data.pop(TRACE_KEY, None)
            if outer is not None:
                data[TRACE_KEY] = outer
        self.env["integration.metrics"]._count_queue_run(
            self.validator_id.id, failed=self.state != "done"
        )
        return result

    @api.model
    def _integration_queue_snapshot(self):
        """``(validator id, name, state, count)`` of the messages waiting
        or dead, and ``(validator id, name, age in seconds)`` of the oldest
        waiting one per validator, from the partial index above."""
        self.env.cr.execute(
            # Counted first (an index-only scan), named after.
            "SELECT q.validator_id, v.name, q.state, q.count, q.first FROM ("
            " SELECT validator_id, state, count(*) AS count,"
            "        min(received_at) AS first"
            "   FROM integration_webhook_message"
            "  WHERE state IN ('queued', 'retrying', 'dead')"
            "  GROUP BY validator_id, state) q"
            " JOIN integration_webhook_validator v ON v.id = q.validator_id"
            " ORDER BY q.validator_id, q.state"
        )
        now = fields.Datetime.now()
        counts, oldest = [], {}
        for validator_id, name, state, count, first in self.env.cr.fetchall():
            counts.append((validator_id, name, state, count))
            if state != "dead" and first is not None:
                known = oldest.get(validator_id, (name, first))[1]
                oldest[validator_id] = (name, min(known, first))
        ages = [
            (validator_id, name, max((now - first).total_seconds(), 0.0))
            for validator_id, (name, first) in sorted(oldest.items())
        ]
        return counts, ages
