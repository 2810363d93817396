from odoo import api, models

from ..lib import api_policy


class ResUsersApikeysCompanies(models.Model):
    """A policy's allowed companies on legacy RPC, whose calls cannot be
    narrowed to them: a call must name its companies, all of them the
    policy's, in its context's allowed_company_ids."""

    _inherit = "res.users.apikeys"

    @api.model
    def _integration_check_legacy_call(self, service, method, params, address):
        key_id = super()._integration_check_legacy_call(
            service, method, params, address
        )
        if key_id is None or service != "object" or len(params) < 5:
            return key_id
        Policy = self.env["integration.api.policy"]
        if not Policy.sudo().search_count([("company_ids", "!=", False)], limit=1):
            return key_id
        api_key = self._integration_authenticate(params[2])
        if api_key is None or api_key.policy_id is None:
            return key_id
        policy = Policy._integration_compiled(
            api_key.policy_id, api_key.policy_revision
        )
        if not policy.company_ids:
            return key_id
        # execute_kw(db, uid, key, model, method, args, kwargs): only its
        # named arguments carry a context.
        kwargs = params[6] if method == "execute_kw" and len(params) > 6 else None
        context = kwargs.get("context") if isinstance(kwargs, dict) else None
        requested = (
            context.get("allowed_company_ids") if isinstance(context, dict) else None
        )
        user = self.env["res.users"].browse(api_key.user_id)
        if requested:
            companies = Policy._integration_companies(policy, user, requested)
        else:
            companies = api_policy.PolicyDenied(
                api_policy.REASON_COMPANY,
                "a legacy RPC call must name its companies in its context",
            )
        if not isinstance(companies, list):
            raise Policy._integration_denial(
                policy,
                f"{params[3]}.{params[4]}",
                companies,
                str(params[3]),
                str(params[4]),
            )
        return key_id
