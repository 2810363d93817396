import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain

from ..lib import portal

_logger = logging.getLogger(__name__)

MANAGER = "integration_gateway.group_integration_manager"


class ResPartner(models.Model):
    """An integration partner: the company whose contacts with portal access
    manage its webhook endpoints and see its API keys on ``/my/integrations``,
    as far as an administrator allows it here. The permissions are those of
    the commercial partner (the company), whichever of its contacts asks."""

    _inherit = "res.partner"

    integration_endpoint_ids = fields.One2many(
        "integration.webhook.endpoint",
        "partner_id",
        string="Webhook Endpoints",
        groups=MANAGER,
    )
    integration_endpoint_count = fields.Integer(
        string="Integrations",
        compute="_compute_integration_endpoint_count",
        groups=MANAGER,
    )
    integration_portal_endpoints = fields.Boolean(
        string="May Manage Webhook Endpoints",
        groups=MANAGER,
        help="Its contacts with portal access create, change and delete the "
        "partner's webhook endpoints on the portal, and follow their deliveries.",
    )
    integration_portal_event_type_ids = fields.Many2many(
        "integration.webhook.event.type",
        "integration_partner_event_type_rel",
        "partner_id",
        "event_type_id",
        string="Event Types Allowed",
        domain=[("portal_published", "=", True)],
        groups=MANAGER,
        help="The event types its endpoints may subscribe to from the portal. "
        "Empty: every event type published to the portal.",
    )
    integration_portal_keys = fields.Boolean(
        string="May See API Keys",
        groups=MANAGER,
        help="Its contacts with portal access see the API keys of the partner's "
        "users, their policy and usage, and may revoke them.",
    )
    integration_portal_policy_ids = fields.Many2many(
        "integration.api.policy",
        "integration_partner_api_policy_rel",
        "partner_id",
        "policy_id",
        string="May Issue Keys Under",
        groups=MANAGER,
        help="Its contacts with portal access may issue API keys for themselves "
        "under these policies, with the policy's maximum lifetime. Empty: they "
        "may not issue keys.",
    )

    def _compute_integration_endpoint_count(self):
        counts = dict(
            self.env["integration.webhook.endpoint"]
            .with_context(active_test=False)
            ._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.integration_endpoint_count = counts.get(
                partner.commercial_partner_id, 0
            )

    def action_open_integrations(self):
        """The webhook endpoints of the partner's company."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.integration_webhook_endpoint_action"
        )
        partner = self.commercial_partner_id
        action["domain"] = [("partner_id", "=", partner.id)]
        action["context"] = {"default_partner_id": partner.id, "active_test": False}
        return action

    # -- the portal's permissions ---------------------------------------------

    @api.model
    def _integration_portal_partner(self):
        """The current user's commercial partner (as superuser, to read the
        permissions an administrator set on it)."""
        return self.env.user.partner_id.commercial_partner_id.sudo()

    def _integration_portal_event_types(self):
        """The event types this partner's endpoints may subscribe to from
        the portal: published, active, and among those allowed for it."""
        self.ensure_one()
        domain = Domain("portal_published", "=", True)
        if self.integration_portal_event_type_ids:
            domain &= Domain("id", "in", self.integration_portal_event_type_ids.ids)
        return self.env["integration.webhook.event.type"].sudo().search(domain)

    def _integration_portal_user_domain(self):
        """The users of this partner (its contacts' users), whose keys the
        portal shows."""
        self.ensure_one()
        return Domain("user_id.partner_id.commercial_partner_id", "=", self.id)

    def _integration_portal_issue_key(self, user, policy, name, days):
        """Issues ``user`` an API key named ``name`` under ``policy`` (one of
        those allowed for this partner) for ``days`` days at most, capped by
        the policy; returns the token, shown once."""
        self.ensure_one()
        if (
            user.partner_id.commercial_partner_id != self
            or policy not in self.integration_portal_policy_ids
        ):
            raise AccessError(
                self.env._("You may not issue API keys under this policy.")
            )
        if not (name or "").strip():
            raise ValidationError(self.env._("Describe what the key is for."))
        days = portal.key_lifetime_days(days, policy.max_key_lifetime_days)
        expiration = fields.Datetime.now() + datetime.timedelta(days=days)
        policy._integration_check_lifetime(expiration)
        ApiKeys = self.env["res.users.apikeys"]
        # As superuser: the policy's lifetime, checked above, is the limit
        # that holds (a portal user's own limit is one day).
        token = ApiKeys.with_user(user).sudo()._generate(None, name.strip(), expiration)
        key = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        key.write({"integration_policy_id": policy.id})
        _logger.info(
            "API key #%s issued on the portal by %s under policy %r",
            key.id,
            user.login,
            policy.name,
        )
        return token
