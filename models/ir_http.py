from odoo import models
from odoo.http import request
from odoo.tools import config

from ..lib import api_policy, networks


class IrHttp(models.AbstractModel):
    """Request hooks of the addon; each feature's check is one private
    classmethod called from ``_pre_dispatch``."""

    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        result = super()._pre_dispatch(rule, args)
        cls._integration_check_api_request(rule, args)
        return result

    @classmethod
    def _integration_current_api_key(cls):
        """The API key that authenticated the current request, or None.

        After a successful Bearer authentication, the request carries the
        key as ``odoo.http.request.integration_api_key``: an immutable
        :class:`lib.api_policy.ApiKey` with ``key_id``, ``user_id``,
        ``policy_id`` (the policy that applies, the default one included;
        None when Odoo's own behaviour applies), ``policy_revision`` and
        ``expires_at``. Requests authenticated otherwise (session, none)
        have None.
        """
        return getattr(request, "integration_api_key", None) if request else None

    @classmethod
    def _integration_client_address(cls):
        """The client's address; ``X-Forwarded-For`` counts only when Odoo
        runs behind a proxy (``proxy_mode``)."""
        httprequest = request.httprequest
        return networks.client_address(
            httprequest.environ.get("REMOTE_ADDR"),
            httprequest.headers.get("X-Forwarded-For"),
            config["proxy_mode"],
        )

    @classmethod
    def _integration_check_api_request(cls, rule, args):
        """Applies the key's policy to a Bearer-authenticated request before
        its method runs: a refused call raises AccessError, which JSON/2
        answers with a 403 in its own error shape."""
        if rule.endpoint.routing.get("auth") != "bearer":
            return
        api_key = cls._integration_current_api_key()
        if api_key is None or api_key.policy_id is None:
            return
        policy = request.env["integration.api.policy"]._integration_compiled(
            api_key.policy_id, api_key.policy_revision
        )
        Policy = request.env["integration.api.policy"]
        if "__model__" in args and "__method__" in args:
            model, method = args["__model__"], args["__method__"]
        else:
            call = api_policy.route_call(request.httprequest.path)
            if call is None:
                denied = api_policy.PolicyDenied(
                    api_policy.REASON_ROUTE, "keys with a policy may not use this route"
                )
                raise Policy._integration_denial(
                    policy, request.httprequest.path, denied
                )
            model, method = call
        Policy._integration_enforce(
            policy, api_key, model, method, cls._integration_client_address()
        )
