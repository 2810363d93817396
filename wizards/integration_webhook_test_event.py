from odoo import api, fields, models

from ..lib.outbox import endpoint as outbox_endpoint


class IntegrationWebhookTestEvent(models.TransientModel):
    """Sends an endpoint a test event of a chosen event type, built from a
    real record of the type's model, so that the receiver sees what it
    will get. :meth:`_send` sends every test event, the endpoint's plain one
    too, and shows the receiver's answer."""

    _name = "integration.webhook.test.event"
    _description = "Send a Test Event"

    endpoint_id = fields.Many2one(
        "integration.webhook.endpoint", required=True, ondelete="cascade"
    )
    event_type_id = fields.Many2one(
        "integration.webhook.event.type",
        required=True,
        ondelete="cascade",
        domain=[("active", "=", True)],
    )
    payload = fields.Text(
        compute="_compute_payload", help="What the endpoint will receive."
    )

    @api.depends("endpoint_id", "event_type_id")
    def _compute_payload(self):
        for wizard in self:
            wizard.payload = (
                wizard.event_type_id
                and wizard.endpoint_id._test_event_body(
                    wizard.event_type_id._sample_payload(), wizard.event_type_id
                )
            )

    def action_send(self):
        self.ensure_one()
        # Sent as superuser, with the administrator's extra headers: for those
        # who may change the endpoint.
        self.endpoint_id.check_access("write")
        return self._send(
            self.endpoint_id, self.event_type_id._sample_payload(), self.event_type_id
        )

    @api.model
    def _send(self, endpoint, payload, event_type=None):
        """Sends ``endpoint`` ``payload`` (Odoo's shape; put in the
        endpoint's format) as a test event of ``event_type`` and returns the
        notification of the receiver's answer. Callers check the user's
        rights first."""
        endpoint.ensure_one()
        payload = endpoint._test_event_body(payload, event_type)
        deliveries = self.env["integration.webhook.delivery"]
        result, step = deliveries._send_test(endpoint, payload, event_type)
        outcome = outbox_endpoint.test_outcome(step, result)
        if outcome == "delivered":
            message = self.env._(
                "Test event delivered: HTTP %(status)s in %(ms)s ms.",
                status=result.status_code,
                ms=result.duration_ms,
            )
        elif outcome == "answered":
            message = self.env._(
                "The receiver answered HTTP %(status)s in %(ms)s ms: %(body)s",
                status=result.status_code,
                ms=result.duration_ms,
                body=result.response_excerpt[:200],
            )
        else:
            message = self.env._(
                "Test event not delivered: %(error)s", error=result.error
            )
        kind = "success" if outcome == "delivered" else "danger"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Test event to %(name)s", name=endpoint.name),
                "message": message,
                "type": kind,
                "sticky": kind != "success",
                # Show the test delivery in the endpoint's counters.
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
