"""Two dispatchers on two real database connections, sending the same
backlog at the same time, never send a delivery twice.

This needs committed rows: each dispatcher commits its claim before sending,
and SKIP LOCKED only means something between separate transactions. The
rows are removed at the end.
"""

import json
import threading
from collections import Counter

from odoo import SUPERUSER_ID, api
from odoo.sql_db import db_connect
from odoo.tests import tagged

from ..common import WebhookCase

BACKLOG = 120


@tagged("post_install", "-at_install")
class TestWebhookConcurrency(WebhookCase):
    def _committed(self, work):
        """Runs ``work(env)`` on a connection of its own, which commits when
        the ``with`` block ends."""
        with db_connect(self.env.cr.dbname).cursor() as cr:
            return work(api.Environment(cr, SUPERUSER_ID, {}))

    def test_two_dispatchers_never_send_a_delivery_twice(self):
        def make_backlog(env):
            endpoint = (
                env["integration.webhook.endpoint"]
                .with_context(mail_create_nolog=True, tracking_disable=True)
                .create(
                    {
                        "name": "concurrency receiver",
                        # a few ms per answer, so that the dispatchers overlap
                        "url": self.receiver.url("/slow/0.005"),
                        "allow_private_network": True,
                    }
                )
            )
            env["integration.webhook.delivery"].create(
                [
                    {"endpoint_id": endpoint.id, "payload": json.dumps({"n": n})}
                    for n in range(BACKLOG)
                ]
            )
            return endpoint.id

        endpoint_id = self._committed(make_backlog)
        self.addCleanup(
            self._committed,
            lambda env: (
                env["integration.webhook.endpoint"].browse(endpoint_id).unlink()
            ),
        )

        start = threading.Barrier(2)
        sent = {}
        errors = []

        def dispatcher(name):
            try:
                with db_connect(self.env.cr.dbname).cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    dispatcher = env["integration.webhook.dispatcher"]
                    start.wait()
                    total = 0
                    while (batch := dispatcher._dispatch_batch(limit=10))[0]:
                        total += batch[1]
                sent[name] = total
            except Exception as exc:  # noqa: BLE001 (reported by the test)
                errors.append(exc)

        threads = [
            threading.Thread(target=dispatcher, args=(name,)) for name in ("one", "two")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse(errors)

        received = Counter(
            r.headers["webhook-id"] for r in self.receiver.wait_for(BACKLOG)
        )
        self.assertEqual(len(received), BACKLOG)
        self.assertEqual(set(received.values()), {1}, "a delivery was sent twice")
        self.assertEqual(sent["one"] + sent["two"], BACKLOG)
        self.assertTrue(sent["one"] and sent["two"], f"both dispatchers worked: {sent}")

        def states(env):
            env.cr.execute(
                "SELECT state, count(*) FROM integration_webhook_delivery "
                "WHERE endpoint_id = %s GROUP BY state",
                [endpoint_id],
            )
            return dict(env.cr.fetchall())

        self.assertEqual(self._committed(states), {"delivered": BACKLOG})
