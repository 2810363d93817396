from odoo import api, fields, models


class IntegrationWebhookTestEvent(models.TransientModel):
    """Sends an endpoint a test event of a chosen event type, built from a
    real record of the type's model, so that the receiver sees what it
    will get."""

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
        return self.endpoint_id._send_test_event(
            self.event_type_id._sample_payload(), self.event_type_id
        )
