from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_dispatcher_count = fields.Integer(
        string="Webhook Dispatchers",
        config_parameter="integration_gateway.dispatcher_count",
        default=2,
        help="How many dispatcher jobs may send queued webhooks at the same time. "
        "Each runs in one cron thread at a time; more cron threads or servers add "
        "capacity up to this number.",
    )
    integration_retention_days = fields.Integer(
        string="Keep Delivered Webhooks (days)",
        config_parameter="integration_gateway.retention_days",
        default=30,
        help="Delivered webhooks, their attempts and recorded rejections older than "
        "this are removed by the daily clean-up.",
    )

    def set_values(self):
        result = super().set_values()
        # The dispatcher count is a number of crons: make it so.
        self.env["integration.webhook.dispatcher"]._sync_crons(
            self.integration_dispatcher_count
        )
        return result
