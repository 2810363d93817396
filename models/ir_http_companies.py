from odoo import models
from odoo.http import request

from ..lib import api_policy


class IrHttp(models.AbstractModel):
    """A policy's allowed companies on JSON/2: the call runs in the
    companies the policy allows, and naming another one is refused."""

    _inherit = "ir.http"

    @classmethod
    def _integration_check_api_request(cls, rule, args):
        super()._integration_check_api_request(rule, args)
        if rule.endpoint.routing.get("auth") != "bearer" or "__model__" not in args:
            return
        api_key = cls._integration_current_api_key()
        if api_key is None or api_key.policy_id is None:
            return
        Policy = request.env["integration.api.policy"]
        policy = Policy._integration_compiled(
            api_key.policy_id, api_key.policy_revision
        )
        if not policy.company_ids:
            return
        context = cls._integration_json2_params().get("context")
        requested = (
            context.get("allowed_company_ids") if isinstance(context, dict) else None
        )
        model, method = args["__model__"], args["__method__"]
        companies = Policy._integration_companies(policy, request.env.user, requested)
        if isinstance(companies, api_policy.PolicyDenied):
            raise Policy._integration_denial(
                policy, f"{model}.{method}", companies, model, method
            )
        request.update_context(allowed_company_ids=companies)
