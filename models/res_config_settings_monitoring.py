from odoo import fields, models

from ..lib import endpoint_alerts

METRICS_TOKEN_PARAM = "integration_gateway.metrics_token"  # noqa: S105 (its name)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_alert_failing_minutes = fields.Integer(
        string="Endpoint Failing Alert After (minutes)",
        config_parameter=endpoint_alerts.FAILING_AFTER_PARAM,
        default=endpoint_alerts.FAILING_AFTER // 60,
        help="An endpoint with no successful delivery for this long (since its "
        "first failure) is reported once: a message, an activity for its "
        "responsible, an email to its followers.",
    )
    integration_alert_backlog_minutes = fields.Integer(
        string="Waiting Delivery Alert After (minutes)",
        config_parameter=endpoint_alerts.BACKLOG_AFTER_PARAM,
        default=endpoint_alerts.BACKLOG_AFTER // 60,
        help="An endpoint whose oldest waiting delivery waits this long is "
        "reported as failing; 0 turns this check off.",
    )
    integration_metrics_token = fields.Char(
        string="Metrics Bearer Token",
        config_parameter=METRICS_TOKEN_PARAM,
        help="Lets a scraper read GET /integration/metrics with "
        "'Authorization: Bearer <token>' without an API key. Empty: only API "
        "keys whose policy allows integration.metrics (or Integration "
        "Managers' keys) may.",
    )
