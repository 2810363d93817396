import xmlrpc.client

from odoo import SUPERUSER_ID, api
from odoo.http import request, route
from odoo.modules.registry import Registry

from odoo.addons.rpc.controllers import RPC, _check_request

from ..models.ir_http import IrHttp
from ..models.res_users_apikeys import LEGACY_RPC_CHECKED


class IntegrationRPC(RPC):
    """Legacy XML-RPC and JSON-RPC with API key policies.

    These endpoints run the ORM without an HTTP request, so the policy of
    the key (passed as the password) is applied here, before the call is
    dispatched: refused unless the policy allows legacy RPC, and then the
    policy's networks and rules apply as on JSON/2, to the model and method
    called and to every model the call's arguments reach. The key checked
    is marked for the call (any key, with a policy or not: no key changes
    API keys) so that the authentication below lets it through; a key with
    a policy that reaches the ORM any other way is refused.
    """

    def _xmlrpc(self, service):
        data = request.httprequest.get_data()
        params, method = xmlrpc.client.loads(data, use_datetime=True)
        marker = self._integration_check_legacy_call(service, method, params)
        try:
            return super()._xmlrpc(service)
        finally:
            LEGACY_RPC_CHECKED.reset(marker)

    @route()
    def jsonrpc(self, service, method, args):
        # as Odoo does before dispatching: the call uses its own cursor
        _check_request()
        marker = self._integration_check_legacy_call(service, method, args)
        try:
            return super().jsonrpc(service, method, args)
        finally:
            LEGACY_RPC_CHECKED.reset(marker)

    def _integration_check_legacy_call(self, service, method, params):
        """Applies the policy of the key used by an RPC call, raising
        AccessError when it refuses the call. Returns the token to reset
        the call's marker with."""
        key_id = None
        database = params[0] if params and isinstance(params, list | tuple) else None
        if isinstance(database, str) and service in ("common", "object"):
            with Registry(database).cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                # the addon may not be installed in the database called
                if "integration.api.policy" in env:
                    key_id = env["res.users.apikeys"]._integration_check_legacy_call(
                        service, method, params, IrHttp._integration_client_address()
                    )
        return LEGACY_RPC_CHECKED.set(key_id)
