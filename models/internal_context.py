"""Context keys the addon sets for itself, which no request can set.

A client passes any context it likes over JSON-RPC and JSON/2, so a key
that changes what a write does must carry a value JSON cannot produce: a
sentinel object that only code holding this module can put there.
"""

_SYNCING_URL = object()

# With these, a write of an endpoint's URL to its server actions (or the
# other way round) does not come back to where it started.
SYNCING_URL = {"integration_syncing_url": _SYNCING_URL}


def syncing_url(env):
    """Whether ``env`` is the addon's own write keeping an endpoint's URL and
    its actions' URL the same."""
    return env.context.get("integration_syncing_url") is _SYNCING_URL
