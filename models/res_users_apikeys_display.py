from odoo import api, fields, models

from ..lib import api_policy


class ResUsersApikeys(models.Model):
    """What applies to a key, in words, where its own policy is empty: the
    default policy, or the full rights of its user."""

    _inherit = "res.users.apikeys"

    integration_policy_label = fields.Char(
        string="Applies",
        compute="_compute_integration_policy_label",
        groups="integration_gateway.group_integration_manager",
        help="The policy that applies to the key: its own, else the default "
        "policy of Settings, else none (the key has its user's full rights).",
    )

    @api.depends("integration_policy_id")
    @api.depends_context("uid")
    def _compute_integration_policy_label(self):
        Policy = self.env["integration.api.policy"].sudo()
        default_id = Policy._integration_default_policy_id()
        default = Policy.browse(default_id).exists()
        if default_id == api_policy.UNREADABLE_POLICY_ID:
            fallback = self.env._("Default policy unreadable: refused")
        elif default:
            fallback = self.env._("Default policy: %(name)s", name=default.name)
        else:
            fallback = self.env._("Full user rights (no default policy)")
        for key in self:
            policy = key.sudo().integration_policy_id
            key.integration_policy_label = policy.name if policy else fallback
