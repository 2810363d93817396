"""The API keys of an integration partner on the portal:
``/my/integrations/keys``.

Shown when an administrator lets the partner see its users' keys (each
with its policy in plain words, expiry, last use and 30 days of usage),
or issue keys under chosen policies. Issuing a key asks for the password,
as core does; the key is shown once.
"""

import datetime
import json
import logging

from werkzeug.exceptions import NotFound

from odoo import fields
from odoo.fields import Domain
from odoo.http import request, route

from ..lib import portal
from .portal import FORM_ERRORS, IntegrationPortal

_logger = logging.getLogger(__name__)


class IntegrationPortalKeys(IntegrationPortal):
    def _integration_keys(self, partner):
        """The keys of the partner's users, when it may see them; else the
        current user's own keys (a partner may issue without seeing others')."""
        ApiKeys = request.env["res.users.apikeys"].sudo()
        if partner.integration_portal_keys:
            domain = partner._integration_portal_user_domain()
        else:
            domain = Domain("user_id", "=", request.env.uid)
        return ApiKeys.search(domain, order="create_date desc, id desc")

    def _integration_render_keys(self, partner, token=None, error=None, key_id=None):
        keys = self._integration_keys(partner)
        charted = keys
        if key_id is not None:
            charted = keys.filtered(lambda k: k.id == key_id)
            if not charted:
                raise NotFound()
        today = fields.Date.today()
        first = today - datetime.timedelta(days=portal.USAGE_DAYS - 1)
        usage = (
            request.env["integration.api.usage"]
            .sudo()
            .search_read(
                [("key_id", "in", charted.ids), ("date", ">=", first)],
                ["date", "calls", "rate_limited", "denied"],
            )
        )
        series = portal.usage_series(
            [(r["date"], r["calls"], r["rate_limited"], r["denied"]) for r in usage],
            today,
        )
        series["names"] = {
            "calls": request.env._("Calls"),
            "rate_limited": request.env._("Refused (429)"),
            "denied": request.env._("Denied by the policy"),
        }
        policies = keys.integration_policy_id | partner.integration_portal_policy_ids
        response = request.render(
            "integration_gateway.portal_my_integration_keys",
            self._integration_values(
                "integration_keys",
                keys=keys,
                charted_key=charted if key_id is not None else None,
                summaries={p.id: p._integration_summary() for p in policies},
                usage_json=json.dumps(series),
                policies=partner.integration_portal_policy_ids,
                default_days=portal.DEFAULT_KEY_DAYS,
                token=token,
                error=error,
            ),
        )
        response.headers["Cache-Control"] = "no-store"
        if error:
            response.status_code = 422
        return response

    @route("/my/integrations/keys", type="http", auth="user", website=True)
    def integration_keys(self, key_id=None, **kw):
        """The keys; the chart shows the usage of all of them, or of the key
        ``key_id``."""
        partner = self._integration_require(endpoints=False)
        key_id = int(key_id) if (key_id or "").isdigit() else None
        return self._integration_render_keys(partner, key_id=key_id)

    @route(
        "/my/integrations/keys/new",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_key_new(self, name=None, policy_id=None, days=None, password=None):
        partner = self._integration_require(endpoints=False)
        policy = partner.integration_portal_policy_ids.filtered(
            lambda p: str(p.id) == (policy_id or "")
        )
        if not policy:
            raise NotFound()
        if not self._integration_identity_checked(password):
            return self._integration_render_keys(
                partner,
                error=request.env._("Enter your password to issue a key."),
            )
        try:
            with request.env.cr.savepoint():
                token = partner._integration_portal_issue_key(
                    request.env.user,
                    policy,
                    name,
                    int(days) if (days or "").isdigit() else None,
                )
        except FORM_ERRORS as error:
            return self._integration_render_keys(partner, error=str(error))
        return self._integration_render_keys(partner, token=token)

    @route(
        "/my/integrations/keys/<int:key_id>/revoke",
        type="http",
        auth="user",
        website=True,
        methods=["POST"],
    )
    def integration_key_revoke(self, key_id, **kw):
        partner = self._integration_require(endpoints=False)
        key = self._integration_keys(partner).filtered(lambda k: k.id == key_id)
        if not key:
            raise NotFound()
        key.unlink()
        _logger.info(
            "API key #%s revoked on the portal by %s", key_id, request.env.user.login
        )
        self._integration_flash(
            request.env._("The key is revoked: it no longer works.")
        )
        return request.redirect("/my/integrations/keys")
