"""The helpers of the addon's tests, published for other addons' tests too.

An addon that builds on this one (its own webhooks, its own API clients)
tests against it with the helpers its own tests use, imported from
``odoo.addons.integration_gateway.tests.common``:

``ApiKeyMixin`` (for an ``HttpCase``)
    ``issue_key(user, policy=None, name=..., days=1)`` issues a real API key
    the way Odoo does and returns ``(token, key)``; ``json2(token, model,
    method, **params)`` calls JSON/2 with it over the test server. What the
    rate limiter committed for the key is removed after the test.
``run_dispatcher(case)``
    Runs the outgoing-webhook dispatcher once, as its cron does, on a cursor
    that sees what the test wrote (in a ``TransactionCase`` or an
    ``HttpCase``).
``make_due(deliveries)``
    Makes waiting deliveries due now, as if their retry delay had passed, so
    that the next ``run_dispatcher`` sends them.
``run_incoming_queue(case)``, ``make_messages_due(messages)``
    The same for queued incoming webhook messages: runs the incoming
    queue once as its cron does, and makes waiting messages due now.
``forget_rate_limits(dbname, counters=None, key_id=None)``
    Removes rate-limit counters and a key's usage, which the limiter commits
    on connections of its own (a test's rollback cannot reach them).
``WebhookCase`` (a ``TransactionCase``)
    A real receiver on 127.0.0.1 (``cls.receiver``, see
    ``webhook_receiver.py``) and ``make_endpoint``, ``enqueue``, ``dispatch``
    and ``make_due`` for outgoing webhooks.

For example, a test that an action of one's own queues a webhook that is
delivered::

    from odoo.addons.integration_gateway.tests.common import WebhookCase

    class TestMyWebhook(WebhookCase):
        def test_delivered(self):
            endpoint = self.make_endpoint("/ok")
            ...  # what queues a delivery to ``endpoint``
            self.dispatch()
            self.assertEqual(len(self.receiver.wait_for(1)), 1)
"""

import contextlib
import json
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import HttpCase, TransactionCase

from odoo.addons.integration_gateway.plumbing import own_cursor

from .webhook_receiver import WebhookReceiver


def forget_rate_limits(dbname, counters=None, key_id=None):
    """Removes what the rate limiter committed on connections of its own,
    which a test's rollback cannot reach: the counters whose key is LIKE
    ``counters``, and the usage tallies and last use of key ``key_id``."""
    with own_cursor(dbname) as cr:
        if counters:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter WHERE key LIKE %s",
                (counters,),
            )
        if key_id:
            cr.execute(
                "DELETE FROM integration_rate_limit_tally WHERE name LIKE %s",
                (f"usage:{key_id}:%",),
            )
            cr.execute(
                "DELETE FROM integration_api_key_last_use WHERE key_id = %s",
                (key_id,),
            )


def run_dispatcher(case):
    """Runs the webhook dispatcher once as its cron does, on a cursor of the
    test's registry that sees what the test wrote: an ``HttpCase``'s
    registry is in test mode already (its server's cursor stands in for the
    cron's), a ``TransactionCase`` enters it for the run. What the test wrote
    is flushed before and its caches invalidated after."""
    _run_cron_method(case, "integration.webhook.dispatcher", "_cron_dispatch")


def _run_cron_method(case, model, method):
    """Calls ``model.method`` as its cron does, on a cursor of the test's
    registry that sees what the test wrote (see :func:`run_dispatcher`)."""
    if isinstance(case, HttpCase):
        test_mode = contextlib.nullcontext()
    else:
        test_mode = case.enter_registry_test_mode()
    case.env.flush_all()
    with test_mode, case.registry.cursor() as cr:
        getattr(api.Environment(cr, SUPERUSER_ID, {})[model], method)()
    case.env.invalidate_all()


def run_incoming_queue(case):
    """Runs the incoming webhook queue once as its cron does, on a cursor
    that sees what the test wrote (see :func:`run_dispatcher`)."""
    _run_cron_method(case, "integration.webhook.message", "_cron_process_queue")


def make_messages_due(messages):
    """Moves waiting incoming ``messages``' next attempt to now, as if their
    delay had passed."""
    messages.flush_recordset()
    messages.env.cr.execute(
        "UPDATE integration_webhook_message SET next_attempt_at = %s "
        "WHERE id = ANY(%s) AND state IN ('queued', 'retrying')",
        [fields.Datetime.now() - timedelta(seconds=1), messages.ids],
    )
    messages.env.invalidate_all()


def make_due(deliveries):
    """Moves ``deliveries``' next attempt to now, as if their delay had
    passed."""
    deliveries.flush_recordset()
    deliveries.env.cr.execute(
        "UPDATE integration_webhook_delivery SET next_attempt_at = %s "
        "WHERE id = ANY(%s)",
        [fields.Datetime.now() - timedelta(seconds=1), deliveries.ids],
    )
    deliveries.env.invalidate_all()


class ApiKeyMixin:
    """For HttpCase tests calling JSON/2 with real API keys: keys issued the
    way Odoo issues them, whose rate-limit state is removed after the test."""

    def issue_key(self, user, policy=None, name="test key", days=1):
        """A key ``user`` issued for themselves, valid ``days`` days, under
        ``policy`` when given; returns its token and its record."""
        ApiKeys = self.env["res.users.apikeys"].with_user(user)
        token = ApiKeys._generate(
            None, name, fields.Datetime.now() + timedelta(days=days)
        )
        key = ApiKeys.sudo().browse(ApiKeys._integration_key_id_of(token))
        if policy:
            key.integration_policy_id = policy
        self.addCleanup(
            forget_rate_limits, self.env.cr.dbname, f"apikey:{key.id}", key.id
        )
        return token, key

    def json2(self, token, model, method, headers=None, **params):
        """POSTs ``params`` to ``/json/2/<model>/<method>`` with ``token``."""
        return self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps(params),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )


class WebhookCase(TransactionCase):
    """A TransactionCase with ``cls.receiver`` listening, and helpers to
    queue and dispatch deliveries."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        cls.Endpoint = cls.env["integration.webhook.endpoint"]
        cls.Delivery = cls.env["integration.webhook.delivery"]
        cls.Dispatcher = cls.env["integration.webhook.dispatcher"]

    def setUp(self):
        super().setUp()
        self.receiver.clear()

    def make_endpoint(self, path="/ok", **values):
        """An endpoint posting to the receiver (loopback, so allowed)."""
        return self.Endpoint.create(
            {
                "name": f"Receiver {path}",
                "url": self.receiver.url(path),
                "allow_private_network": True,
                **values,
            }
        )

    def enqueue(self, endpoint, payload=None):
        payload = payload or {"_model": "res.partner", "_id": 1, "_action": "test(#1)"}
        return self.Delivery._enqueue(endpoint, json.dumps(payload, sort_keys=True))

    def dispatch(self):
        """Runs the dispatcher as its cron does (:func:`run_dispatcher`)."""
        run_dispatcher(self)

    def make_due(self, deliveries):
        """Makes ``deliveries`` due now (:func:`make_due`)."""
        make_due(deliveries)
