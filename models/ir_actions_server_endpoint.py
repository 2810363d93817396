from odoo import api, models


class IrActionsServer(models.Model):
    """A webhook action picks its endpoint (its URL follows), and its user
    is told when saving it created a new endpoint."""

    _inherit = "ir.actions.server"

    @api.onchange("webhook_endpoint_id")
    def _onchange_webhook_endpoint_id(self):
        for action in self:
            if action.webhook_endpoint_id:
                action.webhook_url = action.webhook_endpoint_id.sudo().url

    def _integration_notify_new_endpoint(self, endpoint):
        """Tells the user saving the action that it made a new endpoint:
        it has a secret of its own, which the receiver needs, and settings
        of its own (private networks, headers, throttle) to review."""
        self.ensure_one()
        self.env.user._bus_send(
            "simple_notification",
            {
                "type": "warning",
                "sticky": True,
                "title": self.env._("New webhook endpoint"),
                "message": self.env._(
                    "Saving %(action)s created the endpoint %(endpoint)s for "
                    "%(url)s, with a signing secret of its own: give the "
                    "receiver that secret, or pick an existing endpoint on the "
                    "action.",
                    action=self.name,
                    endpoint=endpoint.name,
                    url=endpoint.url,
                ),
            },
        )
