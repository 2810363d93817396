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
    integration_default_policy_id = fields.Many2one(
        "integration.api.policy",
        string="Default API Key Policy",
        config_parameter="integration_gateway.default_policy_id",
        help="The policy of API keys that have none. Empty: such keys keep "
        "Odoo's own behaviour (everything their user may do).",
    )
