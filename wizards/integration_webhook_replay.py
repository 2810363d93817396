from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain


class IntegrationWebhookReplay(models.TransientModel):
    """Queues again every failed delivery of an endpoint since a date, e.g.
    after a receiver's outage outlasted the retry schedule."""

    _name = "integration.webhook.replay"
    _description = "Replay Failed Webhook Deliveries"

    endpoint_id = fields.Many2one("integration.webhook.endpoint", required=True)
    since = fields.Datetime(
        required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=1),
        help="Deliveries of events from this moment on are replayed.",
    )
    include_cancelled = fields.Boolean(
        help="Also replay deliveries someone cancelled, not only dead ones."
    )
    delivery_count = fields.Integer(
        string="Deliveries to Replay", compute="_compute_delivery_count"
    )

    @api.depends("endpoint_id", "since", "include_cancelled")
    def _compute_delivery_count(self):
        for wizard in self:
            wizard.delivery_count = (
                self.env["integration.webhook.delivery"].search_count(wizard._domain())
                if wizard.endpoint_id and wizard.since
                else 0
            )

    def _domain(self):
        states = ("dead", "cancelled") if self.include_cancelled else ("dead",)
        return (
            Domain("endpoint_id", "=", self.endpoint_id.id)
            & Domain("state", "in", states)
            & Domain("create_date", ">=", self.since)
            & Domain("is_test", "=", False)
        )

    def action_replay(self):
        """Requeues the failed deliveries, for those who may change them."""
        self.check_access("write")
        self.env["integration.webhook.delivery"].check_access("write")
        self.ensure_one()
        deliveries = self.env["integration.webhook.delivery"].search(self._domain())
        if not deliveries:
            raise UserError(
                self.env._("No failed delivery of this endpoint since then.")
            )
        deliveries.action_requeue()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._(
                    "%(count)s deliveries queued again for %(endpoint)s.",
                    count=len(deliveries),
                    endpoint=self.endpoint_id.name,
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
