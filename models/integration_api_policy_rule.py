from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib import api_policy
from .constraints import translated


class IntegrationApiPolicyRule(models.Model):
    """One line of a policy: the models and methods it matches and whether
    it allows or denies them. A matching deny wins; a call no rule matches
    is denied."""

    _name = "integration.api.policy.rule"
    _description = "API Key Policy Rule"
    _order = "policy_id, sequence, id"

    policy_id = fields.Many2one(
        "integration.api.policy", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    model_pattern = fields.Char(
        string="Models",
        required=True,
        default="*",
        help="Comma-separated model names or fnmatch patterns, matched "
        "case-sensitively: 'sale.*' matches 'sale.order.line'.",
    )
    method_pattern = fields.Char(
        string="Methods",
        required=True,
        default="*",
        help="Comma-separated method names or fnmatch patterns, e.g. 'read, search_*'.",
    )
    effect = fields.Selection(
        [(api_policy.ALLOW, "Allow"), (api_policy.DENY, "Deny")],
        required=True,
        default=api_policy.ALLOW,
    )

    @api.constrains("model_pattern", "method_pattern")
    def _check_patterns(self):
        for rule in self:
            try:
                rule._integration_compiled()
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "Policy %(name)s: %(error)s",
                        name=rule.policy_id.name,
                        error=translated(self.env, exc),
                    )
                ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules.policy_id._integration_touch()
        return rules

    def write(self, vals):
        policies = self.policy_id
        result = super().write(vals)
        (policies | self.policy_id)._integration_touch()
        return result

    def unlink(self):
        policies = self.policy_id
        result = super().unlink()
        policies._integration_touch()
        return result

    def _integration_compiled(self):
        self.ensure_one()
        return api_policy.make_rule(
            self.model_pattern, self.method_pattern, self.effect
        )
