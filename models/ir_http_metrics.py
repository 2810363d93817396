import re

from odoo import models
from odoo.http import request

from ..lib.metrics import token_matches
from .res_config_settings_monitoring import METRICS_TOKEN_PARAM

METRICS_PATH = "/integration/metrics"
_BEARER_TOKEN = re.compile(r"^bearer\s+(\S+)\s*$", re.IGNORECASE)


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _auth_method_bearer(cls):
        # Scrapers that cannot hold an Odoo API key present the static token
        # of the metrics, on that route only; any other token is checked as
        # an API key (and a wrong one counts as a failed authentication).
        if request.httprequest.path == METRICS_PATH:
            match = _BEARER_TOKEN.match(
                request.httprequest.headers.get("Authorization") or ""
            )
            expected = (
                request.env["ir.config_parameter"].sudo().get_param(METRICS_TOKEN_PARAM)
            )
            if match and token_matches(expected, match.group(1)):
                request.integration_metrics_token = True
                cls._auth_method_public()
                request.session.can_save = False
                return None
        return super()._auth_method_bearer()
