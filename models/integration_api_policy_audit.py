"""The audit trail of API key policies: who changed what, when.

A policy is a ``mail.thread`` whose settings are tracked; its rules, which
have no chatter of their own, are posted on their policy when they are
added, changed or removed; a key moved from one policy to another is posted
on both policies and logged. Only system administrators change the policy
of an administrator's key: an Integration Manager could otherwise narrow
(or widen) what an administrator's integration may do.
"""

import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)


def _rule_text(rule):
    """A rule in words, as the policy's chatter shows it."""
    effect = dict(rule._fields["effect"]._description_selection(rule.env))
    label = effect.get(rule.effect, rule.effect)
    return f"{label}: {rule.model_pattern} / {rule.method_pattern}"


class IntegrationApiPolicy(models.Model):
    _name = "integration.api.policy"
    _inherit = ("integration.api.policy", "mail.thread")

    name = fields.Char(tracking=True)
    read_only = fields.Boolean(tracking=True)
    allowed_networks = fields.Text(tracking=True)
    rate_limit = fields.Char(tracking=True)
    max_key_lifetime_days = fields.Integer(tracking=True)
    allow_legacy_rpc = fields.Boolean(tracking=True)

    _name_unique = models.Constraint(
        "UNIQUE (name)",
        "Another API key policy has this name: policies are told apart by "
        "their name in messages and errors, give this one another.",
    )

    def _integration_post(self, body):
        """Posts ``body`` (markup, or text to escape) on the policies as a
        note, by the current user, whoever may read them."""
        for policy in self.sudo():
            policy.message_post(
                body=body,
                message_type="notification",
                subtype_xmlid="mail.mt_note",
                author_id=self.env.user.partner_id.id,
            )


class IntegrationApiPolicyRule(models.Model):
    _inherit = "integration.api.policy.rule"

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        for rule in rules:
            rule.policy_id._integration_post(
                Markup("%s <b>%s</b>") % (self.env._("Rule added:"), _rule_text(rule))
            )
        return rules

    def write(self, vals):
        before = {rule.id: (rule.policy_id, _rule_text(rule)) for rule in self}
        result = super().write(vals)
        for rule in self:
            policy, old = before[rule.id]
            new = _rule_text(rule)
            if old != new or policy != rule.policy_id:
                rule.policy_id._integration_post(
                    Markup("%s <b>%s</b> → <b>%s</b>")
                    % (self.env._("Rule changed:"), old, new)
                )
        return result

    def unlink(self):
        for rule in self:
            rule.policy_id._integration_post(
                Markup("%s <b>%s</b>") % (self.env._("Rule removed:"), _rule_text(rule))
            )
        return super().unlink()


class ResUsersApikeys(models.Model):
    _inherit = "res.users.apikeys"

    def write(self, vals):
        if "integration_policy_id" not in vals:
            return super().write(vals)
        self._integration_check_may_set_policy()
        before = {key.id: key.sudo().integration_policy_id for key in self}
        result = super().write(vals)
        for key in self.sudo():
            old, new = before[key.id], key.integration_policy_id
            if old != new:
                key._integration_policy_changed(old, new)
        return result

    def _integration_check_may_set_policy(self):
        """Raises AccessError when the current user, not a system
        administrator, would change the policy of an administrator's key."""
        if self.env.is_system():
            return
        admins = self.sudo().user_id.filtered(lambda user: user._is_system())
        if admins:
            raise AccessError(
                self.env._(
                    "Only system administrators can change the policy of an "
                    "administrator's API key (%(users)s).",
                    users=", ".join(admins.mapped("login")),
                )
            )

    def _integration_policy_changed(self, old, new):
        """Posts a key's move from policy ``old`` to ``new`` on both (either
        may be empty: the default policy) and logs it."""
        self.ensure_one()
        default = self.env._("the default policy")
        body = self.env._(
            "API key “%(key)s” of %(user)s: policy %(old)s → %(new)s.",
            key=self.name,
            user=self.user_id.login,
            old=old.name or default,
            new=new.name or default,
        )
        (old | new)._integration_post(body)
        _logger.info(
            "API key #%s of %s moved from policy %r to %r by %s",
            self.id,
            self.user_id.login,
            old.name or None,
            new.name or None,
            self.env.user.login,
        )
