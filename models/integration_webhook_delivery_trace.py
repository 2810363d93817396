from odoo import api, fields, models
from odoo.http import request

from ..lib import trace_context

TRACE_KEY = "integration_gateway.trace"  # the transaction's trace, in precommit data


class IntegrationWebhookDelivery(models.Model):
    """A delivery's trace (W3C Trace Context) and the call that caused it.

    Every delivery written in a transaction carries that transaction's
    trace: the incoming request's ``traceparent`` when it has a valid one,
    else a trace of its own, shared by the deliveries of that transaction.
    """

    _inherit = "integration.webhook.delivery"

    trace_id = fields.Char(
        readonly=True,
        index="btree_not_null",
        copy=False,
        help="W3C trace id of the call that caused the delivery, sent in the "
        "traceparent header of every attempt (each with a new span id).",
    )
    parent_span_id = fields.Char(
        string="Parent Span ID",
        readonly=True,
        copy=False,
        help="The caller's span, from its traceparent header.",
    )
    origin_kind = fields.Selection(
        [
            ("incoming_webhook", "Incoming webhook"),
            ("api_call", "API call"),
            ("other", "Other (user, scheduled action, ...)"),
        ],
        string="Caused By",
        readonly=True,
    )
    origin_automation_id = fields.Many2one(
        "base.automation",
        string="Incoming Webhook Automation",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
    )
    origin_message_id = fields.Many2one(
        "integration.webhook.message",
        string="Incoming Message",
        readonly=True,
        ondelete="set null",
        help="The incoming webhook message (its id, with replay protection).",
    )
    origin_api_key_ref = fields.Integer(
        string="API Key ID", readonly=True, aggregator=None
    )
    origin_api_key_name = fields.Char(
        string="API Key", readonly=True, help="The name of the key, when it was used."
    )
    origin_call = fields.Char(
        readonly=True, help="The JSON/2 call (model.method) or route that caused it."
    )

    # What a scrape counts: the deliveries waiting or dead, per endpoint and
    # state, with the age of the oldest, read from this index alone.
    _metrics_index = models.Index(
        "(endpoint_id, state, create_date)"
        " WHERE state IN ('pending', 'retrying', 'sending', 'dead')"
    )

    @api.model_create_multi
    def create(self, vals_list):
        trace = None
        for vals in vals_list:
            if vals.get("is_test") or "trace_id" in vals:
                continue
            trace = trace or self._integration_trace()
            for name, value in trace.items():
                vals.setdefault(name, value)
        return super().create(vals_list)

    @api.model
    def _outbox_shared_values(self):
        # The deliveries the outbox writes in one INSERT carry the trace too
        # (written as the ORM would: see _insert_deliveries).
        trace = self._integration_trace()
        return {**super()._outbox_shared_values(), **trace}

    def action_open_same_trace(self):
        """The deliveries caused by the same call as this one."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.integration_webhook_delivery_action"
        )
        action["domain"] = [("trace_id", "=", self.trace_id)]
        action["context"] = {}
        action["name"] = self.env._("Trace %(trace)s", trace=self.trace_id)
        return action

    @api.model
    def _integration_trace(self):
        """The trace and origin of the deliveries of this transaction,
        worked out once per transaction."""
        data = self.env.cr.precommit.data
        if TRACE_KEY not in data:
            data[TRACE_KEY] = self._integration_request_trace()
        return data[TRACE_KEY]

    @api.model
    def _integration_request_trace(self):
        values = {"origin_kind": "other"}
        parsed = None
        if request and getattr(request, "httprequest", None) is not None:
            parsed = trace_context.parse(request.httprequest.headers.get("traceparent"))
            incoming = getattr(request, "integration_webhook", None)
            api_key = getattr(request, "integration_api_key", None)
            if getattr(incoming, "automation_id", None):
                values["origin_kind"] = "incoming_webhook"
                values["origin_automation_id"] = incoming.automation_id
                values["origin_message_id"] = getattr(
                    request, "integration_webhook_claim", None
                )
            elif api_key is not None:
                values["origin_kind"] = "api_call"
                values["origin_api_key_ref"] = api_key.key_id
                # Read with the key when the request was authenticated.
                values["origin_api_key_name"] = api_key.name or False
                values["origin_call"] = request.httprequest.path[:200]
        trace_id, span_id = parsed or (trace_context.new_trace_id(), False)
        values.update(trace_id=trace_id, parent_span_id=span_id)
        return values

    @api.autovacuum
    def _gc_delivered(self):
        # The attempt counters are folded before history is removed, so
        # that nothing a scrape reads depends on what retention keeps.
        self.env["integration.metrics"]._compact()
        return super()._gc_delivered()


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    webhook_delivery_count = fields.Integer(
        compute="_compute_webhook_delivery_count",
        groups="integration_gateway.group_integration_manager",
    )

    def _compute_webhook_delivery_count(self):
        counts = dict(
            self.env["integration.webhook.delivery"]._read_group(
                [("origin_automation_id", "in", self.ids)],
                ["origin_automation_id"],
                ["__count"],
            )
        )
        for automation in self:
            automation.webhook_delivery_count = counts.get(automation, 0)

    def action_open_caused_deliveries(self):
        """The webhook deliveries that calls to this automation's incoming
        webhook caused."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.integration_webhook_delivery_action"
        )
        action["domain"] = [("origin_automation_id", "=", self.id)]
        action["context"] = {}
        return action
