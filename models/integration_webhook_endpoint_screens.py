from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..lib.outbox import endpoint as outbox_endpoint


class IntegrationWebhookEndpoint(models.Model):
    """What the endpoint's screens open: its deliveries (all of them, or
    only those a smart button counts), its attempts, the replay wizard, and
    its secret on request."""

    _inherit = "integration.webhook.endpoint"

    delivery_count = fields.Integer(compute="_compute_delivery_count")

    def _compute_delivery_count(self):
        groups = self.env["integration.webhook.delivery"]._read_group(
            [("endpoint_id", "in", self.ids), ("is_test", "=", False)],
            ["endpoint_id"],
            ["__count"],
        )
        counts = {endpoint.id: count for endpoint, count in groups}
        for endpoint in self:
            endpoint.delivery_count = counts.get(endpoint.id, 0)

    def action_open_deliveries(self):
        action = self._open("integration_webhook_delivery_action")
        action["context"] = {"default_endpoint_id": self.id}
        return action

    def action_open_waiting(self):
        """The endpoint's deliveries the Waiting button counts."""
        action = self.action_open_deliveries()
        action["context"]["search_default_waiting"] = 1
        return action

    def action_open_dead(self):
        """The endpoint's deliveries the Dead button counts."""
        action = self.action_open_deliveries()
        action["context"]["search_default_dead"] = 1
        return action

    def action_open_delivery_report(self):
        """The endpoint's deliveries as a graph by day and state, with the
        pivot and list a click away."""
        action = self.action_open_deliveries()
        action["views"] = [(False, mode) for mode in ("graph", "pivot", "list", "form")]
        action["view_mode"] = "graph,pivot,list,form"
        return action

    def action_open_attempts(self):
        """The endpoint's attempts of the last 24 hours: the figures of the
        overview, one by one."""
        since = fields.Datetime.now() - outbox_endpoint.HEALTH_WINDOW
        action = self._open(
            "integration_webhook_attempt_action", [("started_at", ">=", since)]
        )
        action["name"] = self.env._("Attempts to %(name)s (24 h)", name=self.name)
        return action

    def action_open_replay(self):
        self.check_access("read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Replay Failed Deliveries"),
            "res_model": "integration.webhook.replay",
            "view_mode": "form",
            "target": "new",
            "context": {"default_endpoint_id": self.id},
        }

    def _open(self, xmlid, domain=()):
        """The window action ``xmlid`` of this addon, on this endpoint's rows
        that match ``domain``, for those who may read the endpoint."""
        self.check_access("read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            f"integration_gateway.{xmlid}"
        )
        action["domain"] = [("endpoint_id", "=", self.id), *domain]
        return action

    @api.model
    def integration_overview_tiles(self):
        """The Overview's tiles: what was refused on the way in over the
        last 24 hours, each with the action opening the rows it counts.
        API usage is counted by day (UTC): its tiles cover today and
        yesterday, the days the last 24 hours fall on."""
        self.check_access("read")
        since = fields.Datetime.now() - outbox_endpoint.HEALTH_WINDOW
        Rejection = self.env["integration.webhook.rejection"]
        rejections = [("received_at", ">=", since)]
        refused = Rejection._read_group(rejections, [], ["count:sum"])[0][0]
        Usage = self.env["integration.api.usage"]
        days = [("date", ">=", since.date())]
        limited, denied = Usage._read_group(
            days, [], ["rate_limited:sum", "denied:sum"]
        )[0]

        def window(xmlid, domain):
            action = self.env["ir.actions.act_window"]._for_xml_id(
                f"integration_gateway.{xmlid}"
            )
            action["domain"] = domain
            action["context"] = {}
            return action

        return [
            {
                "name": "incoming_refused",
                "label": self.env._("Incoming webhook calls refused (24 h)"),
                "count": refused or 0,
                "action": window("action_integration_webhook_rejection", rejections),
            },
            {
                "name": "api_rate_limited",
                "label": self.env._("API calls refused with 429 (since yesterday)"),
                "count": limited or 0,
                "action": window(
                    "action_integration_api_usage",
                    [*days, ("rate_limited", ">", 0)],
                ),
            },
            {
                "name": "api_denied",
                "label": self.env._("API calls a policy denied (since yesterday)"),
                "count": denied or 0,
                "action": window(
                    "action_integration_api_usage", [*days, ("denied", ">", 0)]
                ),
            },
        ]

    def action_reveal_secret(self):
        """Shows the signing secret, masked on the form, to a system
        administrator, in a notification that stays until closed."""
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only system administrators can see a signing secret.")
            )
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Signing secret of %(name)s", name=self.name),
                "message": self.secret,
                "sticky": True,
                "type": "warning",
            },
        }
