import contextlib
import xmlrpc.client

from psycopg2.errors import ReadOnlySqlTransaction
from werkzeug.exceptions import TooManyRequests

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessDenied
from odoo.http import request, route
from odoo.modules.registry import Registry

from odoo.addons.rpc.controllers import RPC, _check_request
from odoo.addons.rpc.controllers.xmlrpc import dumps

from ..exceptions import RateLimitExceeded
from ..legacy_rpc import LEGACY_RPC_CHECKED

# What XML-RPC answers to a login that failed (common.login/authenticate).
_XMLRPC_FALSE = dumps((False,))


class IntegrationRPC(RPC):
    """Legacy XML-RPC and JSON-RPC with API key policies and the guard
    against key guessing.

    These endpoints run the ORM without an HTTP request, so the policy of
    the key (passed as the password) is applied here, before the call is
    dispatched: refused unless the policy allows legacy RPC, and then the
    policy's networks and rules apply as on JSON/2, to the model and method
    called and to every model the call's arguments reach. The key checked
    is marked for the call (any key, with a policy or not: no key changes
    API keys) so that the authentication below lets it through; a key with
    a policy that reaches the ORM any other way is refused.

    A call whose password has the shape of an API key is a key
    authentication like a Bearer one: its failure counts against the
    client's address in the same window, and an address over the limit is
    refused here too, even with a correct key. Other passwords are left to
    Odoo (and its login cooldown).
    """

    def _xmlrpc(self, service):
        data = request.httprequest.get_data()
        params, method = xmlrpc.client.loads(data, use_datetime=True)
        with self._integration_guarded(service, method, params) as failed:
            response = super()._xmlrpc(service)
            if service == "common" and response == _XMLRPC_FALSE:
                failed()
            return response

    @route()
    def jsonrpc(self, service, method, args):
        # as Odoo does before dispatching: the call uses its own cursor
        _check_request()
        with self._integration_guarded(service, method, args) as failed:
            result = super().jsonrpc(service, method, args)
            if service == "common" and result is False:
                failed()
            return result

    @contextlib.contextmanager
    def _integration_guarded(self, service, method, params):
        """Runs a legacy call under the guard and the key's policy; yields
        a function to call when the call failed to authenticate without
        raising (a login answering False)."""
        key_guess = False
        with self._integration_env(service, params) as env:
            if env is not None:
                Keys = env["res.users.apikeys"]
                key_guess = Keys._integration_legacy_key_guess(service, method, params)
                if key_guess:
                    self._integration_check_guard(env)
                key_id = self._integration_check_legacy_call(
                    env, service, method, params
                )
            else:
                key_id = None
        marker = LEGACY_RPC_CHECKED.set(key_id)

        def failed():
            if key_guess:
                with self._integration_env(service, params) as env:
                    env["ir.http"]._integration_count_auth_failure(env)

        try:
            yield failed
        except AccessDenied:
            failed()
            raise
        except ReadOnlySqlTransaction:
            # only the calls of a read-only key run in a read-only transaction
            with self._integration_env(service, params) as env:
                raise env["res.users.apikeys"]._integration_legacy_write_denial(
                    key_id, params
                ) from None
        finally:
            LEGACY_RPC_CHECKED.reset(marker)

    @contextlib.contextmanager
    def _integration_env(self, service, params):
        """An environment of the database a legacy call names, on a cursor
        of its own; None when the addon is not installed there or the call
        names no database."""
        database = params[0] if params and isinstance(params, list | tuple) else None
        if not (isinstance(database, str) and service in ("common", "object")):
            yield None
            return
        with Registry(database).cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # the addon may not be installed in the database called
            yield env if "integration.api.policy" in env else None

    def _integration_check_guard(self, env):
        """Refuses a key authentication from an address over the limit of
        failed ones, as the legacy protocols express errors (a Fault, a
        JSON-RPC error) rather than with an HTTP status."""
        try:
            env["ir.http"]._integration_check_auth_failures(env)
        except TooManyRequests as refused:
            raise RateLimitExceeded(refused.description) from None

    def _integration_check_legacy_call(self, env, service, method, params):
        """Applies the policy of the key used by an RPC call, raising
        AccessError when it refuses the call. Returns the id of the key
        checked, or None."""
        return env["res.users.apikeys"]._integration_check_legacy_call(
            service, method, params, env["ir.http"]._integration_client_address()
        )
