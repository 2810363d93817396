"""The addon's ORM-free core: plain functions and classes, no ``odoo`` import.

Models and controllers are thin adapters over these modules. Nothing here
imports beyond ``lib/``, so the package also imports on its own: from the
addon's folder, ``python -c "import lib.outbox"`` needs no Odoo. Modules are
specified by doctests (run by ``tests/test_lib_doctests.py``) and plain unit
tests (``tests/test_lib_*.py``).

Code map (capability: core here → its adapters):

* outgoing webhooks: ``outbox/`` (delivery states, endpoint settings,
  health, secrets and test event, pacing, retry schedule, the HTTP sender)
  → ``models/integration_webhook_dispatcher*.py`` (cron loop, claim, store
  and the disabled endpoints' notice), ``integration_webhook_endpoint.py``,
  ``integration_webhook_delivery.py``, ``…_attempt.py`` (the overview's
  figures), ``…_test_event.py`` (sending a test event), ``ir_cron.py`` (the
  dispatcher crons);
* incoming webhooks: ``webhook_validation.py``, ``webhook_signatures.py``,
  ``standard_webhooks.py`` → ``controllers/incoming_webhook.py``,
  ``models/integration_webhook_validator.py``, ``…_rejection.py``,
  ``…_message.py``;
* API key policies: ``api_policy.py``, ``networks.py`` →
  ``models/integration_api_policy*.py``, ``ir_http.py``,
  ``res_users_apikeys.py``, ``controllers/rpc.py``;
* rate limits: ``ratelimit/`` (item, window, headers, storage) →
  ``models/integration_rate_limiter.py``; API usage: ``api_usage.py`` →
  ``models/integration_api_usage.py``;
* settings' names and defaults: ``defaults.py``.

Shared database plumbing (own connections, ``own_cursor``, waking the cron
workers) is in ``plumbing.py`` at the addon's root, the exceptions several
capabilities raise in ``exceptions.py``.
"""
