from odoo import api, models

from ..lib import api_policy


class IntegrationApiPolicy(models.Model):
    """A policy's allowed companies, applied to a call (see
    :func:`lib.api_policy.allowed_companies`)."""

    _inherit = "integration.api.policy"

    @api.model
    def _integration_companies(self, policy, user, requested):
        """The company ids a call of ``user``'s key under the compiled
        ``policy`` runs in, the call naming ``requested`` (or not); the
        :class:`lib.api_policy.PolicyDenied` when it may not run."""
        if requested is not None and not isinstance(requested, (list, tuple)):
            requested = [requested]
        try:
            return api_policy.allowed_companies(
                policy, user.company_ids.ids, user.company_id.id, requested
            )
        except api_policy.PolicyDenied as denied:
            return denied
