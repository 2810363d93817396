"""The addon's ORM-free core: plain functions and classes, no ``odoo`` import.

Models and controllers are thin adapters over these modules. Nothing here
imports beyond ``lib/``, so the package also imports on its own: from the
addon's folder, ``python -c "import lib.outbox"`` needs no Odoo. Modules are
specified by doctests (run by ``tests/lib/test_lib_doctests.py``) and plain unit
tests (``tests/lib/``).

Code map (capability: core here → its adapters):

* outgoing webhooks: ``outbox/`` (delivery states, endpoint settings,
  health, secrets and test event, pacing, retry schedule, the HTTP sender)
  → ``models/integration_webhook_dispatcher*.py`` (cron loop, claim, store
  and the disabled endpoints' notice), ``integration_webhook_endpoint.py``,
  ``integration_webhook_delivery.py``, ``…_attempt.py`` (the overview's
  figures), ``…_test_event.py`` (sending a test event), ``ir_cron.py`` (the
  dispatcher crons);
* incoming webhooks: ``webhook_validation.py``, ``webhook_signatures.py``,
  ``webhook_presets.py`` (Slack, Twilio, Zoom and Meta signatures, the
  handshakes), ``standard_webhooks.py``, ``webhook_input.py``,
  ``webhook_settings.py`` (a validator compiled, a call resolved, the
  queue's retry schedule), ``validator_changes.py`` →
  ``controllers/incoming_webhook.py`` (the pipeline),
  ``models/webhook_request.py`` (its steps over the request, the call kept
  as ``request.integration_webhook``), ``ir_http.py`` (the transport check),
  ``models/integration_webhook_validator.py`` (and ``…_validator_queue.py``:
  processing, handshake, presets), ``…_rejection.py``, ``…_message.py``
  (accepted messages, the queue's store), ``…_message_run.py`` (the
  incoming queue's cron, Run again), ``ir_actions_server_payload.py``
  (the accepted payload for code actions);
* API key policies: ``api_policy.py``, ``networks.py``, ``api_reach/``
  (what a call's arguments reach: values, paths and specifications,
  imports) → ``models/integration_api_policy*.py`` (the policy, its rules,
  its reach check), ``ir_http.py``, ``res_users_apikeys*.py`` (keys, their
  legacy RPC checks), ``controllers/rpc.py``;
* event types: ``event_schema.py`` (an event's schema from field metadata,
  breaking changes, the envelope), ``asyncapi.py`` (the catalog) →
  ``models/integration_webhook_event_type.py``, ``…_subscription.py`` (and
  the endpoint's subscriptions and payload format), ``…_test_event.py``,
  ``ir_actions_server.py`` (fan-out), ``controllers/event_catalog.py``;
* rate limits: ``ratelimit/`` (item, window, headers, storage) →
  ``models/integration_rate_limiter.py``; API usage: ``api_usage.py`` →
  ``models/integration_api_usage.py``;
* partner portal: ``portal.py`` (the portal's fields, public URLs, the
  usage chart, portal keys' lifetime) → ``controllers/portal*.py`` (the
  ``/my/integrations`` pages), ``models/integration_webhook_endpoint_portal.py``
  (an endpoint's partner, what portal users may write, their rate limit),
  ``models/res_partner.py`` (the partner's portal permissions),
  ``models/integration_api_policy_portal.py`` (a policy in plain words);
* observability: ``metrics.py`` (the Prometheus series of a snapshot),
  ``trace_context.py`` (W3C traceparent), ``outbox/tracing.py``
  (attempts as OpenTelemetry spans), ``endpoint_alerts.py`` (when an
  endpoint's people are told) → ``models/integration_metrics*.py``,
  ``controllers/metrics.py``, ``ir_http_metrics.py`` (the scrape token),
  ``integration_webhook_delivery_trace.py``,
  ``integration_webhook_endpoint_alerts.py``;
* settings' names and defaults: ``defaults.py``.

Shared database plumbing (own connections, ``own_cursor``, waking the cron
workers) is in ``plumbing.py`` at the addon's root, the exceptions several
capabilities raise in ``exceptions.py``, the mark of a legacy RPC call
checked by the controller in ``legacy_rpc.py``.
"""
