"""Shared set-up of the tests: for outgoing webhooks a real receiver on
127.0.0.1 and the dispatcher run the way its cron runs it; for the API,
real keys called over JSON/2."""

import json
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import TransactionCase

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
    """Runs the webhook dispatcher as its cron does, on a cursor of the
    test's registry (in an HttpCase, the test server's), with what the test
    wrote flushed before and its caches invalidated after."""
    case.env.flush_all()
    with case.registry.cursor() as cr:
        api.Environment(cr, SUPERUSER_ID, {})[
            "integration.webhook.dispatcher"
        ]._cron_dispatch()
    case.env.invalidate_all()


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
        """Runs the dispatcher as its cron does, on a cursor that commits
        (within the test's transaction)."""
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["integration.webhook.dispatcher"]._cron_dispatch()

    def make_due(self, deliveries):
        """Moves deliveries' next attempt to now, as if time had passed."""
        deliveries.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET next_attempt_at = %s "
            "WHERE id = ANY(%s)",
            [fields.Datetime.now() - timedelta(seconds=1), deliveries.ids],
        )
        deliveries.invalidate_recordset()
