import logging
import re

from psycopg2.errors import ReadOnlySqlTransaction
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import HTTPException, Unauthorized

from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.http import request
from odoo.service.model import get_public_method
from odoo.tools import config

from ..lib import api_policy, networks, ratelimit
from ..lib.api_usage import usage_tally
from ..plumbing import ReadOnlyFromNextStatement, run_after_response
from . import webhook_request

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
    def _dispatch(cls, endpoint):
        # A read-only policy is enforced here, on the request's transaction,
        # before the method runs. Odoo's read-only routes are no boundary: a
        # route's ``readonly`` is decided before the key is known, a method
        # marked read-only that writes is served again on a read/write
        # cursor (Request._serve_db), and without a replica read-only routes
        # run on the primary's read/write cursor from the start. A read-only
        # transaction holds whatever the cursor, up to the commit; turning
        # the write's ReadOnlySqlTransaction into an AccessError here keeps
        # Odoo from retrying the call.
        policy = None
        if endpoint.routing.get("auth") == "bearer":
            policy = cls._integration_read_only_policy()
        if policy is None:
            return super()._dispatch(endpoint)
        cr = request.env.cr
        cr.flush()  # what Odoo wrote before the call is not the key's
        # Read-only from the call's first statement on, sent with it.
        read_only = ReadOnlyFromNextStatement(cr)
        try:
            result = super()._dispatch(endpoint)
            cr.flush()  # and the pre-commit hooks the call registered
            read_only.finish()
        except ReadOnlySqlTransaction:
            raise cls._integration_read_only_refused(policy) from None
        finally:
            read_only.cancel()
        return result

    @classmethod
    def _post_dispatch(cls, response):
        result = super()._post_dispatch(response)
        run_after_response(response)
        return result

    @classmethod
    def _handle_error(cls, exception):
        response = super()._handle_error(exception)
        if isinstance(response, HTTPException):
            # An HTTP error answers as a WSGI application of its own (e.g.
            # the 403 of an http route's AccessError): the response it would
            # build is built now, so that it carries the headers below and
            # does the request's work once it is sent.
            response = response.get_response(request.httprequest.environ)
        run_after_response(response)
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
        header = request.httprequest.headers.get("Authorization") or ""
        if not _BEARER.match(header):
            return super()._auth_method_bearer()
        # A token this worker verified before is a key, not a guess: only
        # unknown tokens (the only ones a guesser sends) consult the guard's
        # storage. A valid client behind the same address as a guesser
        # therefore keeps working once its key is known to the worker.
        token = header.split(None, 1)[1]
        if not request.env["res.users.apikeys"]._integration_token_verified(token):
            cls._integration_check_auth_failures()
        try:
            return super()._auth_method_bearer()
        except Unauthorized:
            # The holder of an expired key is told so; it guessed nothing.
            expired = request.env["res.users.apikeys"]._integration_expired_key()
            if expired is None:
                cls._integration_count_auth_failure()
                raise
            raise cls._integration_key_expired(expired) from None

    @classmethod
    def _integration_key_expired(cls, api_key):
        """The 401 of an expired key: when it expired, whether by its
        policy's maximum lifetime (``context.policy.reason`` ``lifetime``)
        and what to do, in English (an answer to a program)."""
        env = request.env(context=dict(request.env.context, lang="en_US"))
        when = f"{api_key.expires_at.isoformat(' ', 'seconds')} UTC"
        context = {"expired_at": api_key.expires_at.isoformat()}
        if api_key.lifetime_capped:
            policy = env["integration.api.policy"]._integration_compiled(
                api_key.policy_id, api_key.policy_revision
            )
            message = env._(
                "This API key expired on %(when)s: policy %(policy)s lets keys "
                "live at most %(days)s days. %(hint)s",
                when=when,
                policy=repr(policy.name),
                days=policy.max_key_lifetime_days,
                hint=api_policy.HINTS[api_policy.REASON_LIFETIME],
            )
            context["policy"] = {
                "name": policy.name,
                "reason": api_policy.REASON_LIFETIME,
                "model": None,
                "method": None,
            }
        else:
            message = env._(
                "This API key expired on %(when)s. %(hint)s",
                when=when,
                hint=api_policy.HINTS[api_policy.REASON_LIFETIME],
            )
        exception = Unauthorized(message, www_authenticate=WWWAuthenticate("bearer"))
        exception.context = context
        return exception

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
        its method runs, to the model and method called and, on JSON/2, to
        every model its arguments reach: a refused call raises AccessError,
        which JSON/2 answers with a 403 in its own error shape."""
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
            if not cls._integration_core_calls(model, method):
                # JSON/2 answers 404 itself: the policy adds nothing to it.
                return
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
        if "__model__" in args:
            params = cls._integration_json2_params()
            ids = params.pop("ids", ())
            Policy._integration_enforce_reach(
                policy, api_key, model, method, (), params, ids=ids
            )

    @classmethod
    def _integration_json2_params(cls):
        """The named arguments of a JSON/2 call, read from its body before
        the dispatcher parses it (which it does after this check): empty
        when the body is not a JSON object, which the dispatcher then
        refuses or ignores as it does without the policy."""
        if not request.httprequest.content_length:
            return {}
        try:
            params = request.get_json_data()
        except ValueError:
            return {}
        return dict(params) if isinstance(params, dict) else {}

    @classmethod
    def _integration_core_calls(cls, model, method):
        """Whether JSON/2 would call ``model.method`` rather than answer 404
        (an unknown model, or a method that does not exist or is not
        public), found the way its controller finds them."""
        try:
            get_public_method(request.env[model], method)
        except (KeyError, AttributeError):
            return False
        except AccessError:
            return True  # a private method: refused, by the policy too
        return True

    @classmethod
    def _integration_read_only_policy(cls):
        """The compiled policy of the current request's key when it is
        read-only, else None."""
        api_key = cls._integration_current_api_key()
        if api_key is None or api_key.policy_id is None:
            return None
        policy = request.env["integration.api.policy"]._integration_compiled(
            api_key.policy_id, api_key.policy_revision
        )
        return policy if policy.read_only else None

    @classmethod
    def _integration_read_only_refused(cls, policy):
        """The AccessError of a read-only key's call that tried to write,
        counted as denied; the failed transaction is rolled back first, so
        that the answer can be built."""
        request.env.cr.rollback()
        cls._integration_count_api_usage("denied")
        api_key = cls._integration_current_api_key()
        params = request.params or {}
        model, method = params.get("__model__"), params.get("__method__")
        if model is None or method is None:
            model, method = api_policy.route_call(request.httprequest.path) or (
                None,
                None,
            )
        what = f"{model}.{method}" if model else request.httprequest.path
        _logger.info("API key #%s refused (read_only): %s wrote", api_key.key_id, what)
        return request.env["integration.api.policy"]._integration_write_denial(
            policy, what, model=model, method=method
        )

    @classmethod
    def _integration_auth_failure_limits(cls, env=None):
        params = (env or request.env)["ir.config_parameter"].sudo()
        try:
            return ratelimit.parse_limits(params.get_param(AUTH_FAILURE_LIMIT_PARAM))
        except ValueError:
            _logger.exception(
                "Invalid %s, failed authentications are not limited",
                AUTH_FAILURE_LIMIT_PARAM,
            )
            return ()

    @classmethod
    def _integration_check_auth_failures(cls, env=None):
        """429 for an address that failed too many key authentications
        (Bearer or legacy RPC), before its key is checked: a correct key
        does not unlock it. ``env``: the database's, where the request has
        none of its own (legacy RPC)."""
        limits = cls._integration_auth_failure_limits(env)
        address = cls._integration_client_address()
        limiter = (env or request.env)["integration.rate.limiter"]
        decision = limiter._peek(
            f"auth-failure:{address}", limits, unavailable=AUTH_GUARD_UNAVAILABLE
        )
        if decision and not decision.allowed:
            english = limiter.with_context(lang="en_US").env  # to a program
            raise limiter._too_many_requests(
                decision,
                english._(
                    "Too many failed API key authentications from %(address)s "
                    "(limit %(limit)s); retry in %(seconds)s seconds.",
                    address=address,
                    limit=str(decision.limit),
                    seconds=ratelimit.retry_after_seconds(decision),
                ),
            )

    @classmethod
    def _integration_count_auth_failure(cls, env=None):
        limits = cls._integration_auth_failure_limits(env)
        address = cls._integration_client_address()
        decision = (env or request.env)["integration.rate.limiter"]._hit(
            f"auth-failure:{address}", limits, unavailable=AUTH_GUARD_UNAVAILABLE
        )
        if decision and decision.allowed and not decision.remaining:
            _logger.warning(
                "API key authentication blocked for %s after %s failed attempts "
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
            limiter._count(tally, "allowed", after_response=True)
        request.env["res.users.apikeys"]._integration_note_use(
            api_key.key_id, cls._integration_client_address()
        )
        return decision

    @classmethod
    def _integration_count_api_usage(cls, field):
        api_key = cls._integration_current_api_key()
        if api_key is not None:
            tally = usage_tally(api_key.key_id, fields.Datetime.now().date())
            request.env["integration.rate.limiter"]._count(
                tally, field, after_response=True
            )

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
        without reading it. The call is resolved here, once, for the
        controller too (``webhook_request.resolve``).
        """
        if rule.endpoint.routing.get("integration_webhook"):
            incoming = webhook_request.resolve(request, args.get("rule_uuid"))
            if incoming is not None:
                webhook_request.check_transport(request, incoming)
