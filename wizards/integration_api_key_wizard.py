import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError

from odoo.addons.base.models.res_users import check_identity

_logger = logging.getLogger(__name__)

# Expiry proposed for a key whose policy sets no maximum lifetime.
DEFAULT_KEY_DAYS = 90


class IntegrationApiKeyWizard(models.TransientModel):
    """Issues an API key for another user, typically a technical
    integration user, under a policy and with an expiry. The key is shown
    once, like the keys users make for themselves."""

    _name = "integration.api.key.wizard"
    _description = "Issue an API Key"

    user_id = fields.Many2one(
        "res.users",
        required=True,
        domain=[("share", "=", False)],
        help="The key acts as this user, within the policy.",
    )
    name = fields.Char(
        string="Description",
        required=True,
        help="What the key is for: the only way to recognise it later.",
    )
    policy_id = fields.Many2one("integration.api.policy", required=True)
    expiration_date = fields.Datetime(
        compute="_compute_expiration_date",
        store=True,
        readonly=False,
        help="Empty: the key does not expire (only where the policy sets no "
        "maximum lifetime).",
    )

    @api.depends("policy_id")
    def _compute_expiration_date(self):
        for wizard in self:
            days = wizard.policy_id.max_key_lifetime_days or DEFAULT_KEY_DAYS
            wizard.expiration_date = fields.Datetime.now() + datetime.timedelta(
                days=days
            )

    @api.constrains("policy_id", "expiration_date")
    def _check_lifetime(self):
        for wizard in self:
            wizard.policy_id._integration_check_lifetime(wizard.expiration_date)

    def action_issue_key(self):
        """Issues the key and shows it once, for system administrators who
        confirm their identity; others are refused before being asked."""
        self._check_may_issue()
        return self._issue_key_confirmed()

    @check_identity
    def _issue_key_confirmed(self):
        return self._issue_key()

    def _check_may_issue(self):
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only administrators can issue keys for other users.")
            )

    def _issue_key(self):
        """Issues the key (the logic of :meth:`action_issue_key`, which
        first asks the administrator to confirm their identity)."""
        self.ensure_one()
        self._check_may_issue()
        self.policy_id._integration_check_lifetime(self.expiration_date)
        ApiKeys = self.env["res.users.apikeys"]
        # _generate makes keys for the environment's user; as superuser the
        # policy's maximum lifetime, checked above, is the limit that holds.
        token = (
            ApiKeys.with_user(self.user_id)
            .sudo()
            ._generate(None, self.name, self.expiration_date or None)
        )
        key_id = ApiKeys._integration_key_id_of(token)
        ApiKeys.sudo().browse(key_id).write(
            {"integration_policy_id": self.policy_id.id}
        )
        _logger.info(
            "API key #%s issued by %s for %s under policy %r",
            key_id,
            self.env.user.login,
            self.user_id.login,
            self.policy_id.name,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "integration.api.key.issued",
            "name": self.env._("API Key Issued"),
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_key": token,
                "default_user_id": self.user_id.id,
                "default_key_name": self.name,
                "default_policy_id": self.policy_id.id,
                "default_expiration_date": fields.Datetime.to_string(
                    self.expiration_date
                ),
            },
        }
