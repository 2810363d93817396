import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command, Domain

from ..lib import event_schema, portal
from ..lib.outbox import endpoint as outbox_endpoint


def _portal_user(env):
    """Whether ``env`` acts for a portal user (not as superuser): what such
    a user writes is held to the portal's rules, whichever way it comes
    (the portal's pages, or a JSON-RPC call of the same session)."""
    return not env.su and env.user.share


def _portal_limit(env, kind):
    """Counts one ``kind`` of action (``test``, ``replay``) for the current
    user; raises 429 past the portal's limit."""
    limiter = env["integration.rate.limiter"]
    decision = limiter._hit(f"portal:{kind}:{env.uid}", portal.PORTAL_ACTION_LIMIT)
    if decision and not decision.allowed:
        raise limiter._too_many_requests(
            decision, limiter._exceeded_message(decision, subject=env._("your account"))
        )


class IntegrationWebhookEndpoint(models.Model):
    """The partner an endpoint belongs to, and what its portal users may do
    with it (see ``lib/portal.py``). Portal users reach only their company's
    endpoints (record rules); the model holds their writes to the portal's
    fields and to public URLs, so that no other path (a JSON-RPC call of
    their session) goes further than the portal's pages."""

    _inherit = "integration.webhook.endpoint"

    partner_id = fields.Many2one(
        "res.partner",
        index="btree_not_null",
        tracking=True,
        ondelete="restrict",
        domain=[("is_company", "=", True)],
        help="The integration partner (a company) whose contacts with portal "
        "access manage this endpoint on the portal, as far as the partner's "
        "portal permissions allow.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not _portal_user(self.env):
            return super().create(self._portal_commercial(vals_list))
        subscribed = []
        for vals in vals_list:
            self._portal_check(vals)
            vals["partner_id"] = self.env.user.commercial_partner_id.id
            subscribed.append(vals.pop("event_type_ids", None))
        endpoints = super().create(vals_list)
        for endpoint, event_types in zip(endpoints, subscribed, strict=True):
            if event_types is not None:
                endpoint.sudo().event_type_ids = event_types
        return endpoints

    def write(self, vals):
        if not _portal_user(self.env):
            return super().write(self._portal_commercial([vals])[0])
        self._portal_check(vals)
        vals = dict(vals)
        event_types = vals.pop("event_type_ids", None)
        result = super().write(vals) if vals else True
        if event_types is not None:
            self.check_access("write")
            self.sudo().event_type_ids = event_types
        return result

    def unlink(self):
        if _portal_user(self.env):
            self._portal_check({})
        return super().unlink()

    def action_send_test_event(self):
        if _portal_user(self.env):
            self.check_access("write")
            _portal_limit(self.env, "test")
        return super().action_send_test_event()

    def _portal_commercial(self, vals_list):
        """``vals_list`` with the partner replaced by its company."""
        partners = self.env["res.partner"]
        vals_list = [dict(vals) for vals in vals_list]
        for vals in vals_list:
            if vals.get("partner_id"):
                commercial = partners.browse(vals["partner_id"]).commercial_partner_id
                vals["partner_id"] = commercial.id
        return vals_list

    def _portal_check(self, vals):
        """Raises unless the current portal user may write ``vals`` on these
        endpoints (or create one): only the portal's fields, the user's own
        company, which allows it, a public URL, event types allowed for the
        company."""
        partner = self.env["res.partner"]._integration_portal_partner()
        if not partner.integration_portal_endpoints:
            raise AccessError(
                self.env._("Your company may not manage webhook endpoints.")
            )
        if forbidden := set(vals) - portal.PORTAL_FIELDS:
            raise AccessError(
                self.env._(
                    "These settings are changed by an administrator only: %(fields)s.",
                    fields=", ".join(sorted(forbidden)),
                )
            )
        if vals.get("partner_id", partner.id) != partner.id or self.sudo().filtered(
            lambda e: e.partner_id != partner
        ):
            raise AccessError(
                self.env._("Endpoints of other companies cannot be changed.")
            )
        if "url" in vals and (refusal := portal.url_refusal(vals["url"])):
            raise ValidationError(
                self.env._(
                    "This URL cannot be used: %(reason)s. Webhooks go to public "
                    "internet addresses only.",
                    reason=refusal,
                )
            )
        if "event_type_ids" in vals:
            wanted = self._portal_event_type_ids(vals["event_type_ids"])
            allowed = set(partner._integration_portal_event_types().ids)
            if wanted - allowed:
                raise AccessError(
                    self.env._("Your endpoints cannot subscribe to these event types.")
                )

    @api.model
    def _portal_event_type_ids(self, commands):
        """The ids of the event types ``commands`` (a list of ids or of x2many
        commands) subscribe to; commands other than set, link and clear are
        refused."""
        ids = set()
        for command in commands or ():
            if isinstance(command, int):
                ids.add(command)
            elif command[0] == Command.SET:
                ids = set(command[2])
            elif command[0] == Command.LINK:
                ids.add(command[1])
            elif command[0] == Command.CLEAR:
                ids = set()
            elif command[0] != Command.UNLINK:
                raise ValidationError(self.env._("Choose existing event types."))
        return ids

    # -- what the portal's pages do ------------------------------------------

    def _portal_send_test_event(self, event_type=None):
        """Sends a test event of ``event_type`` (a plain one without) now, as
        :meth:`action_send_test_event` does, limited per user; returns the
        test delivery. The data is the event type's example, never a real
        record: the portal user may not read what the sender reads."""
        self.ensure_one()
        self.check_access("write")
        _portal_limit(self.env, "test")
        if event_type:
            payload = self._portal_sample_payload(event_type.sudo())
        else:
            sent_at = fields.Datetime.to_string(fields.Datetime.now())
            payload = outbox_endpoint.test_event_payload(self._name, self.id, sent_at)
        self.env["integration.webhook.test.event"]._send(self, payload, event_type)
        return (
            self.env["integration.webhook.delivery"]
            .sudo()
            .search(
                [("endpoint_id", "=", self.id), ("is_test", "=", True)],
                order="id desc",
                limit=1,
            )
        )

    @api.model
    def _portal_sample_payload(self, event_type):
        values = {"_model": event_type.model, "_id": 0, "_action": "test"}
        names = event_type.field_ids.mapped("name")
        if names:
            example = event_schema.example_data(event_type._data_schema())
            values.update({name: example.get(name) for name in ["id", *names]})
        return json.dumps(values, sort_keys=True, default=str)

    def _portal_rotate_secret(self):
        """Rotates the secret (with the grace period) for a portal user who
        may change the endpoint."""
        self.check_access("write")
        return self.sudo().action_rotate_secret()

    def _portal_set_active(self, active):
        """Disables (archives) or enables the endpoint; enabling also
        resumes an endpoint disabled for its failures."""
        self.write({"active": active})
        if active:
            self.check_access("write")
            self.sudo().action_enable()

    def _portal_replay_since(self, since):
        """Queues again the endpoint's dead deliveries since ``since``;
        returns how many."""
        self.ensure_one()
        self.check_access("write")
        Replay = self.env["integration.webhook.replay"].sudo()
        domain = Replay.new({"endpoint_id": self.id, "since": since})._domain()
        deliveries = self.env["integration.webhook.delivery"].search(domain)
        if not deliveries:
            raise UserError(
                self.env._("No failed delivery of this endpoint since then.")
            )
        _portal_limit(self.env, "replay")
        deliveries.sudo().action_requeue()
        return len(deliveries)


class IntegrationWebhookDelivery(models.Model):
    """What portal users do to their deliveries, through the portal's pages
    only: they have no write access, so the back office's actions stay
    refused to them."""

    _inherit = "integration.webhook.delivery"

    def _portal_retry(self):
        """The portal's *Retry Now*, limited per user: a waiting delivery
        is made due, a dead or cancelled one is queued again."""
        self.ensure_one()
        self.check_access("read")
        if self.state not in ("dead", "cancelled", "pending", "retrying"):
            raise UserError(self.env._("Only failed deliveries can be retried."))
        _portal_limit(self.env, "replay")
        if self.state in ("dead", "cancelled"):
            return self.sudo().action_requeue()
        return self.sudo().action_retry_now()

    @api.model
    def _portal_domain(self, endpoint, state=None, event_type_id=None, since=None):
        """The domain of the portal's list of ``endpoint``'s deliveries."""
        domain = Domain("endpoint_id", "=", endpoint.id)
        if state:
            domain &= Domain("state", "=", state)
        if event_type_id:
            domain &= Domain("event_type_id", "=", event_type_id)
        if since:
            domain &= Domain("create_date", ">=", since)
        return domain
