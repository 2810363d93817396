from odoo import fields, models

from ..lib.outbox import breaker


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_circuit_failure_threshold = fields.Integer(
        string="Circuit Breaker Threshold",
        config_parameter=breaker.THRESHOLD_PARAM,
        default=breaker.THRESHOLD,
        help="Failures in a row (no answer, 5xx or 429) after which an endpoint's "
        "deliveries wait and a single probe is sent now and then, until the "
        "receiver answers again.",
    )
