"""Outgoing webhooks: endpoints, the outbox and its dispatcher, the
overview, and who may act on them."""

from . import test_access_actions
from . import test_access_http
from . import test_overview
from . import test_webhook_concurrency
from . import test_webhook_dispatch
from . import test_webhook_endpoint
from . import test_webhook_outbox
