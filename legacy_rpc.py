"""What the legacy RPC controller tells the models about the call it runs.

XML-RPC and JSON-RPC run the ORM without an HTTP request, so the controller
(``controllers/rpc.py``) checks a key's policy before dispatching the call
and marks the key it checked here; the keys' model
(``models/res_users_apikeys*.py``) reads the mark when Odoo authenticates
the call. Both import it from here, never from one another.
"""

import contextvars

# The key whose legacy RPC call (XML-RPC, JSON-RPC) the RPC controller has
# checked against its policy, for the duration of that call.
LEGACY_RPC_CHECKED = contextvars.ContextVar("integration_legacy_rpc_checked")
