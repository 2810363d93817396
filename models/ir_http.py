import logging
import re

from werkzeug.exceptions import Unauthorized

from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.http import request
from odoo.tools import config

from ..lib import api_policy, networks, ratelimit
from ..lib.api_usage import usage_tally

_logger = logging.getLogger(__name__)

AUTH_FAILURE_LIMIT_PARAM = "integration_gateway.auth_failure_limit"
_BEARER = re.compile(r"^bearer\s+\S", re.IGNORECASE)
# The guard against key guessing stands aside while its storage is down, so
# that an outage does not refuse every key, limited or not (the keys' own
# limits follow the configured failure mode).
AUTH_GUARD_UNAVAILABLE = "failed API key authentications not limited"


class IrHttp(models.AbstractModel):
    """Request hooks of the addon; each feature's check is one private
    classmethod called from ``_pre_dispatch``."""

    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        result = super()._pre_dispatch(rule, args)
        cls._integration_check_rate_limit(rule, args)
        try:
            cls._integration_check_api_request(rule, args)
        except AccessError:
            cls._integration_count_api_usage("denied")
            raise
        cls._integration_check_webhook_request(rule, args)
        return result

    @classmethod
    def _handle_error(cls, exception):
        response = super()._handle_error(exception)
        # A limited key sees where it stands on every answer, errors included.
        decision = getattr(request, "integration_rate_decision", None)
        headers = getattr(response, "headers", None)
        if decision is not None and headers is not None:
            for name, value in ratelimit.decision_headers(decision):
                headers[name] = value
        return response

    @classmethod
    def _auth_method_bearer(cls):
        # Only calls that present a key can guess one: a call without
        # Authorization is refused by core without counting as a failure.
        if not _BEARER.match(request.httprequest.headers.get("Authorization") or ""):
            return super()._auth_method_bearer()
        cls._integration_check_auth_failures()
        try:
            return super()._auth_method_bearer()
        except Unauthorized:
            cls._integration_count_auth_failure()
            raise

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

    @classmethod
    def _integration_auth_failure_limits(cls):
        params = request.env["ir.config_parameter"].sudo()
        try:
            return ratelimit.parse_limits(params.get_param(AUTH_FAILURE_LIMIT_PARAM))
        except ValueError:
            _logger.exception(
                "Invalid %s, failed authentications are not limited",
                AUTH_FAILURE_LIMIT_PARAM,
            )
            return ()

    @classmethod
    def _integration_check_auth_failures(cls):
        """429 for an address that failed too many Bearer authentications,
        before its key is checked: a correct key does not unlock it."""
        limits = cls._integration_auth_failure_limits()
        address = cls._integration_client_address()
        limiter = request.env["integration.rate.limiter"]
        decision = limiter._peek(
            f"auth-failure:{address}", limits, unavailable=AUTH_GUARD_UNAVAILABLE
        )
        if decision and not decision.allowed:
            raise limiter._too_many_requests(
                decision,
                f"Too many failed API key authentications from {address} "
                f"(limit {decision.limit}); retry in "
                f"{ratelimit.retry_after_seconds(decision)} seconds.",
            )

    @classmethod
    def _integration_count_auth_failure(cls):
        limits = cls._integration_auth_failure_limits()
        address = cls._integration_client_address()
        decision = request.env["integration.rate.limiter"]._hit(
            f"auth-failure:{address}", limits, unavailable=AUTH_GUARD_UNAVAILABLE
        )
        if decision and decision.allowed and not decision.remaining:
            _logger.warning(
                "Bearer authentication blocked for %s after %s failed attempts "
                "(limit %s)",
                address,
                decision.limit.quantity,
                decision.limit,
            )

    @classmethod
    def _integration_check_rate_limit(cls, rule, args):
        """Counts a Bearer-authenticated call against its key's rate limit
        and usage, before the key's policy and the method: refused and
        failing calls count too. Over the limit: 429 with Retry-After."""
        if rule.endpoint.routing.get("auth") != "bearer":
            return
        api_key = cls._integration_current_api_key()
        if api_key is None:
            return
        # Odoo runs authentication and pre-dispatch again for the same
        # request after a serialization failure or a write on a read-only
        # cursor: the call is counted once.
        if not hasattr(request, "integration_rate_decision"):
            request.integration_rate_decision = cls._integration_rate_decide(api_key)
        decision = request.integration_rate_decision
        if decision is None:
            return
        for name, value in ratelimit.decision_headers(decision):
            request.future_response.headers[name] = value
        if not decision.allowed:
            raise cls._integration_rate_limited(decision)

    @classmethod
    def _integration_rate_decide(cls, api_key):
        """Counts the call of ``api_key``: its rate limit decision (None
        without a limit), its usage, and when it was last used."""
        limiter = request.env["integration.rate.limiter"]
        tally = usage_tally(api_key.key_id, fields.Datetime.now().date())
        limits = ()
        if api_key.policy_id is not None:
            limits = (
                request.env["integration.api.policy"]
                ._integration_compiled(api_key.policy_id, api_key.policy_revision)
                .rate_limits
            )
        decision = None
        if limits:
            decision = limiter._hit(f"apikey:{api_key.key_id}", limits, tally=tally)
        else:
            limiter._count(tally, "allowed")
        request.env["res.users.apikeys"]._integration_note_use(
            api_key.key_id, cls._integration_client_address()
        )
        return decision

    @classmethod
    def _integration_count_api_usage(cls, field):
        api_key = cls._integration_current_api_key()
        if api_key is not None:
            tally = usage_tally(api_key.key_id, fields.Datetime.now().date())
            request.env["integration.rate.limiter"]._count(tally, field)

    @classmethod
    def _integration_rate_limited(cls, decision):
        """The 429 of a key over its rate limit, naming the limit and when to
        retry, in words and in the error's ``context``."""
        limit = decision.limit
        retry_after = ratelimit.retry_after_seconds(decision)
        limiter = request.env["integration.rate.limiter"]
        exception = limiter._too_many_requests(
            decision, limiter._exceeded_message(decision)
        )
        exception.context = {
            "rate_limit": {
                "policy": limit.name,
                "quantity": limit.quantity,
                "window": limit.seconds,
                "retry_after": retry_after,
            }
        }
        return exception

    @classmethod
    def _integration_check_webhook_request(cls, rule, args):
        """Size and content type of a call to a validated incoming webhook.

        Checked here, before the dispatcher parses a form body and before the
        controller reads any body, so that an oversized call is refused
        without reading it.
        """
        if rule.endpoint.routing.get("integration_webhook"):
            validators = request.env["integration.webhook.validator"].sudo()
            validators._webhook_check_transport(args.get("rule_uuid"))
