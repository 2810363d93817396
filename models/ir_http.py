from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        result = super()._pre_dispatch(rule, args)
        cls._integration_check_webhook_request(rule, args)
        return result

    @classmethod
    def _integration_check_webhook_request(cls, rule, args):
        """Size and content type of a call to a validated incoming webhook.

        Checked here, before the dispatcher parses a form body and before the
        controller reads any body, so that an oversized call is refused
        without reading it.
        """
        if rule.endpoint.routing.get("integration_webhook"):
            validators = request.env["integration.webhook.validator"].sudo()
            validators._webhook_check_transport(args.get("rule_uuid"))
