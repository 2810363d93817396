"""Legacy XML-RPC and JSON-RPC calls of API keys: the policy of the key a
call authenticates with, applied before the call is dispatched (by the RPC
controller, ``controllers/rpc.py``), the guard behind it when Odoo checks
the password, and the answer to a read-only key's call that wrote.

These calls run the ORM without an HTTP request: the controller checks a
call and marks its key (:data:`legacy_rpc.LEGACY_RPC_CHECKED`); a key with a
policy that authenticates a call nobody checked is refused.
"""

import logging
import re

from odoo import api, fields, models
from odoo.exceptions import AccessDenied, AccessError
from odoo.tools import SQL

from odoo.addons.base.models.res_users import API_KEY_SIZE

from ..exceptions import RateLimitExceeded
from ..legacy_rpc import LEGACY_RPC_CHECKED
from ..lib import api_policy
from ..lib.api_usage import usage_tally

_logger = logging.getLogger(__name__)

# What Odoo's keys look like: API_KEY_SIZE random bytes in hex. A legacy
# RPC password of another shape can never be a key: its failure is a wrong
# password (Odoo's login cooldown), not a guess at a key.
KEY_SHAPE = re.compile(f"[0-9a-f]{{{API_KEY_SIZE * 2}}}")


def _legacy_arguments(method, rest):
    """The positional and named arguments of a legacy ``execute`` or
    ``execute_kw`` call, from what follows the model and method, as Odoo's
    dispatcher reads them."""
    if method == "execute":
        return list(rest), {}
    args = rest[0] if rest else []
    kwargs = rest[1] if len(rest) > 1 and rest[1] is not None else {}
    return args, kwargs


class ResUsersApikeysLegacy(models.Model):
    """The legacy RPC side of API keys with a policy (see the module's
    docstring)."""

    _inherit = "res.users.apikeys"

    @api.model
    def _integration_legacy_call_checked(self, api_key):
        """Whether a key may authenticate a call made without an HTTP
        request (legacy RPC runs the ORM that way): keys with a policy only
        when the RPC controller has checked this very call."""
        if api_key.policy_id is None or LEGACY_RPC_CHECKED.get(None) == api_key.key_id:
            return True
        _logger.info(
            "API key #%s refused: its policy was not checked for this call",
            api_key.key_id,
        )
        return False

    @api.model
    def _integration_check_legacy_guard(self, uid, password):
        """Raises AccessDenied when ``password`` is a key with a policy that
        the RPC controller has not checked for this call. Runs on every
        legacy call, before Odoo's cached credential check."""
        if not isinstance(password, str) or not password:
            return  # not a key: Odoo refuses or accepts it as usual
        key_id = self._integration_key_id_of(password)
        if key_id is None:
            return
        api_key = self._integration_key_state(key_id, "rpc")
        if api_key is None:
            # The key no longer authenticates (it expired, its user was
            # archived, ...): Odoo's cache of an earlier check must not
            # answer for it.
            raise AccessDenied()
        if api_key.user_id != uid:
            return
        if not self._integration_legacy_call_checked(api_key):
            raise AccessDenied()
        if api_key.policy_id is not None:
            policy = self.env["integration.api.policy"]._integration_compiled(
                api_key.policy_id, api_key.policy_revision
            )
            if policy.read_only:
                # The call runs on this very cursor, after this check: a
                # write fails, and the RPC controller answers it as the
                # policy's refusal (JSON/2 calls: IrHttp._dispatch).
                self.env.cr.execute(SQL("SET TRANSACTION READ ONLY"))

    @api.model
    def _integration_legacy_write_denial(self, key_id, params):
        """The AccessError of a legacy ``execute``/``execute_kw`` call of
        key ``key_id`` (read-only) that tried to write."""
        model, method = (str(param) for param in params[3:5])
        api_key = self._integration_key_state(key_id, "rpc")
        Policy = self.env["integration.api.policy"]
        policy = Policy._integration_compiled(
            api_key.policy_id if api_key else None,
            api_key.policy_revision if api_key else None,
        )
        _logger.info(
            "API key #%s refused (read_only): %s.%s wrote", key_id, model, method
        )
        return Policy._integration_write_denial(
            policy, f"{model}.{method}", model=model, method=method
        )

    @api.model
    def _integration_legacy_key_guess(self, service, method, params):
        """Whether a legacy RPC call authenticates with a password that has
        the shape of an API key (what the guard against key guessing
        counts) that this worker has not verified before:
        ``object.execute``/``execute_kw`` and ``common.login``/
        ``authenticate``."""
        if service == "object" and method in ("execute", "execute_kw"):
            password = params[2] if len(params) >= 5 else None
        elif service == "common" and method in ("login", "authenticate"):
            password = params[2] if len(params) >= 3 else None
        else:
            return False
        # A key this worker verified before is no guess (as for Bearer calls).
        return (
            isinstance(password, str)
            and bool(KEY_SHAPE.fullmatch(password))
            and not self._integration_token_verified(password)
        )

    @api.model
    def _integration_check_legacy_call(self, service, method, params, address):
        """Applies the policy of the key a legacy RPC call authenticates
        with (the password of the call) before the call is dispatched.

        Returns the id of the key the call authenticates with (checked
        against its policy when it has one), None when the call uses no key
        (Odoo then decides as usual). Raises AccessError when
        the policy refuses the call: no legacy RPC for the policy, address
        outside its networks, or a model and method its rules refuse.
        """
        if service == "object" and method in ("execute", "execute_kw"):
            if len(params) < 5:
                return None
            _db, uid, password, model, model_method = params[:5]
            login = None
        elif service == "common" and method in ("login", "authenticate"):
            if len(params) < 3:
                return None
            _db, login, password = params[:3]
            uid = model = model_method = None
        else:
            return None
        if not isinstance(password, str) or not password:
            return None
        api_key = self._integration_authenticate(password)
        if api_key is None:
            return None
        user = self.env["res.users"].browse(api_key.user_id)
        if uid is not None and str(uid) != str(user.id):
            return None
        if uid is None and login != user.login:
            return None
        if api_key.policy_id is None:
            # Odoo's own behaviour, but the call is known as a key's (no key
            # changes keys, see _integration_check_key_call)
            return api_key.key_id
        Policy = self.env["integration.api.policy"]
        policy = Policy._integration_compiled(
            api_key.policy_id, api_key.policy_revision
        )
        if model is None:
            try:
                api_policy.check_network(policy, address)
                api_policy.check_legacy_rpc(policy)
            except api_policy.PolicyDenied as denied:
                raise Policy._integration_denial(
                    policy, f"{service}.{method}", denied
                ) from None
        else:
            self._integration_count_legacy_call(api_key, policy, address)
            try:
                Policy._integration_enforce(
                    policy,
                    api_key,
                    str(model),
                    str(model_method),
                    address,
                    legacy_rpc=True,
                )
                args, kwargs = _legacy_arguments(method, params[5:])
                Policy._integration_enforce_reach(
                    policy, api_key, str(model), str(model_method), args, kwargs
                )
            except AccessError:
                self.env["integration.rate.limiter"]._count(
                    usage_tally(api_key.key_id, fields.Datetime.now().date()), "denied"
                )
                raise
        return api_key.key_id

    @api.model
    def _integration_count_legacy_call(self, api_key, policy, address):
        """Counts a legacy RPC call of ``api_key`` (with ``policy``) as its
        JSON/2 calls are: against the policy's rate limit, in its usage and
        its last use. Over the limit, raises RateLimitExceeded: legacy RPC
        answers errors in its own envelope, without an HTTP status."""
        limiter = self.env["integration.rate.limiter"]
        tally = usage_tally(api_key.key_id, fields.Datetime.now().date())
        self._integration_note_use(api_key.key_id, address)
        if not policy.rate_limits:
            limiter._count(tally, "allowed")
            return
        decision = limiter._hit(
            f"apikey:{api_key.key_id}", policy.rate_limits, tally=tally
        )
        if decision and not decision.allowed:
            raise RateLimitExceeded(limiter._exceeded_message(decision))
