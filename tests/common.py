"""Shared set-up of the outgoing webhook tests: a real receiver on 127.0.0.1
and the dispatcher run the way its cron runs it."""

import json
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import TransactionCase

from .webhook_receiver import WebhookReceiver


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
