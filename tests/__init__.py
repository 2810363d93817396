"""The addon's tests, one subpackage per capability:

- ``outbox/``: outgoing webhooks (endpoints, queue, dispatcher, overview, who
  may act on them);
- ``events/``: event types, their subscriptions and catalog;
- ``api_keys/``: API key policies, their reach, read-only keys, rate limits
  and the guard against key guessing;
- ``incoming/``: validated incoming webhooks and their validators;
- ``portal/``: the partner portal over HTTP and in the browser;
- ``observe/``: metrics, trace context and endpoint alerts;
- ``ui/``: tours, menus, screenshots, the README, translations, the install
  log and the documentation's examples;
- ``lib/``: plain unit tests and doctests of the ORM-free core (pytest only).

The helpers other addons may use are in ``common.py``.

Odoo's test loader runs the modules named ``test_*`` that this package
holds as attributes, not those of its subpackages: each Odoo test module is
therefore imported here under its own name. pytest finds every module by
itself, the plain ones (``lib/``, ``ui/test_readme.py`` ...) included.
"""

from .outbox import (
    test_access_actions,
    test_access_http,
    test_overview,
    test_webhook_concurrency,
    test_webhook_dispatch,
    test_webhook_endpoint,
    test_webhook_outbox,
)
from .events import test_event_types
from .api_keys import (
    test_api_default_policy,
    test_api_policy,
    test_api_policy_answers,
    test_api_rate_limit,
    test_api_reach,
    test_api_read_only,
    test_auth_guard,
    test_rate_limiter,
)
from .incoming import (
    test_incoming_webhook_hostile,
    test_incoming_webhooks,
    test_validator_weakening,
    test_webhook_validator,
)
from .portal import test_portal_http, test_portal_tour
from .observe import (
    test_alerts,
    test_metrics_counters,
    test_metrics_endpoint,
    test_trace_context,
)
from .ui import (
    test_examples,
    test_i18n,
    test_menus,
    test_tour,
    test_tour_event_types,
    test_tour_scenarios,
)
