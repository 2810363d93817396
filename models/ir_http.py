import logging
import re

from werkzeug.exceptions import Unauthorized

from odoo import models, tools
from odoo.http import request

from ..lib import networks, ratelimit

_logger = logging.getLogger(__name__)

AUTH_FAILURE_LIMIT_PARAM = "integration_gateway.auth_failure_limit"
_BEARER = re.compile(r"^bearer\s+\S", re.IGNORECASE)


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

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
    def _integration_client_address(cls):
        """The address of the client, from X-Forwarded-For behind a proxy."""
        httprequest = request.httprequest
        return networks.client_address(
            httprequest.remote_addr,
            httprequest.headers.get("X-Forwarded-For"),
            tools.config["proxy_mode"],
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
        decision = limiter._peek(f"auth-failure:{address}", limits)
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
            f"auth-failure:{address}", limits
        )
        if decision and decision.allowed and not decision.remaining:
            _logger.warning(
                "Bearer authentication blocked for %s after %s failed attempts "
                "(limit %s)",
                address,
                decision.limit.quantity,
                decision.limit,
            )
