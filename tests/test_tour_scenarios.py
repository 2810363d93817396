"""The scenarios of the documentation, clicked through in a real browser.

Each test sets the scene with real parts (a receiver on 127.0.0.1, the
dispatcher, JSON/2 calls, signed webhook calls), runs the tours of its
scenario, which save the README's screenshots, and checks what the clicks
did.
"""

import json
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import tagged

from ..lib import standard_webhooks
from .tour_screenshots import ScreenshotTourCase
from .webhook_receiver import WebhookReceiver


@tagged("post_install", "-at_install")
class TestScenarioTours(ScreenshotTourCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)

    def setUp(self):
        super().setUp()
        self.receiver.clear()
        # Where the tours' webhooks go (static/src/js/tours/tour_receiver.js).
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.tour_receiver_url", self.receiver.url("")
        )

    # -- helpers --------------------------------------------------------------

    def endpoint(self, name, path, **values):
        return self.env["integration.webhook.endpoint"].create(
            {
                "name": name,
                "url": self.receiver.url(path),
                "allow_private_network": True,
                **values,
            }
        )

    def queue(self, endpoint, count, model="res.partner"):
        Delivery = self.env["integration.webhook.delivery"]
        return Delivery.browse(
            [
                Delivery._enqueue(
                    endpoint,
                    json.dumps({"_model": model, "_id": index, "_action": "Notify"}),
                ).id
                for index in range(1, count + 1)
            ]
        )

    def dispatch(self):
        """Runs the dispatcher as its cron does (the test server's cursor
        stands in for the cron's)."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})[
                "integration.webhook.dispatcher"
            ]._cron_dispatch()
        self.env.invalidate_all()

    def make_due(self, deliveries):
        """Makes waiting deliveries due now, as if their delay had passed."""
        deliveries.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET next_attempt_at = %s "
            "WHERE id = ANY(%s)",
            [fields.Datetime.now() - timedelta(seconds=1), deliveries.ids],
        )
        self.env.invalidate_all()

    def backdate(self, deliveries, days):
        """Moves deliveries and their attempts ``days`` back in time (and a
        few hours more, clear of the overview's 24-hour window)."""
        delta = timedelta(days=days, hours=3)
        deliveries.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET create_date = create_date "
            "- %(delta)s, delivered_at = delivered_at - %(delta)s "
            "WHERE id = ANY(%(ids)s)",
            {"delta": delta, "ids": deliveries.ids},
        )
        self.env.cr.execute(
            "UPDATE integration_webhook_attempt SET started_at = started_at - %s "
            "WHERE delivery_id = ANY(%s)",
            [delta, deliveries.ids],
        )
        self.env.invalidate_all()

    # -- scenarios ------------------------------------------------------------

    def test_overview(self):
        """The overview's kanban, then deliveries as a graph and a pivot."""
        warehouse = self.endpoint("Warehouse orders", "/ok")
        carrier = self.endpoint(
            "Carrier tracking", "/script/carrier", retry_schedule="1s"
        )
        accounting = self.endpoint("Accounting export", "/status/410")
        # A week of history: sent on their day, then moved there.
        for days in range(6, 0, -1):
            sent = self.queue(warehouse, 3 + days % 3) | self.queue(
                carrier, days % 2 + 1
            )
            self.dispatch()
            self.backdate(sent, days)
        # Three days ago the carrier's receiver failed a delivery twice: dead.
        self.receiver.scripts["carrier"].extend([(503, {}, b"maintenance")] * 2)
        dead = self.queue(carrier, 1)
        self.dispatch()
        self.make_due(dead)
        self.dispatch()
        self.assertEqual(dead.state, "dead")
        self.backdate(dead, 3)
        # Today: the warehouse is fine, the carrier fails now and then, the
        # accounting receiver is gone (410).
        self.receiver.scripts["carrier"].extend(
            [(200, {}, b"ok")] * 5 + [(503, {}, b"maintenance")] * 2
        )
        self.queue(warehouse, 9)
        self.queue(carrier, 5)
        self.dispatch()
        self.queue(carrier, 2)
        self.queue(accounting, 1)
        self.dispatch()
        self.assertEqual(warehouse.health, "healthy")
        self.assertEqual(carrier.health, "failing")
        self.assertEqual(accounting.health, "disabled")
        self.assertAlmostEqual(carrier.success_rate_24h, 5 / 7)

        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.action_integration_overview?debug=1",
            "integration_gateway_overview",
            "integration_overview_tour.js",
        )

    def test_warehouse(self):
        """Outgoing: an endpoint for the warehouse, a test event and its
        attempt, then the automation whose queued webhook posts to it."""
        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.integration_webhook_endpoint_action"
            "?debug=1",
            "integration_gateway_warehouse",
            "integration_warehouse_tour.js",
        )
        endpoint = self.env["integration.webhook.endpoint"].search(
            [("name", "=", "Warehouse")]
        )
        self.assertEqual(endpoint.url, self.receiver.url("/warehouse/orders"))
        test_event = self.receiver.wait_for(1)[0]
        self.assertTrue(json.loads(test_event.body)["_test"])
        rule = self.env["base.automation"].search(
            [("name", "=", "Notify the warehouse")]
        )
        action = rule.action_server_ids
        self.assertEqual(action.state, "webhook")
        self.assertEqual(action.webhook_delivery_mode, "queued")
        self.assertEqual(action.webhook_endpoint_id, endpoint, "found by its URL")

        partner = self.env["res.partner"].create({"name": "Azure Interior"})
        self.dispatch()
        event = self.receiver.wait_for(2)[1]
        self.assertEqual(
            standard_webhooks.verify([endpoint.secret], event.headers, event.body),
            event.headers["webhook-id"],
        )
        payload = json.loads(event.body)
        self.assertEqual(
            (payload["_model"], payload["_id"]), ("res.partner", partner.id)
        )
        self.assertEqual(endpoint.delivery_ids.filtered("is_test").state, "delivered")

    def test_retry(self):
        """Outgoing: a delivery the receiver refused until it died is sent
        again, with the same webhook-id."""
        carrier = self.endpoint("Carrier", "/script/carrier", retry_schedule="1m")
        self.receiver.scripts["carrier"].extend(
            [(503, {}, b"down for maintenance")] * 2
        )
        delivery = self.queue(carrier, 1)
        self.dispatch()
        self.make_due(delivery)
        self.dispatch()
        self.assertEqual(delivery.state, "dead")

        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.integration_webhook_delivery_action"
            "?debug=1",
            "integration_gateway_retry",
            "integration_retry_tour.js",
        )
        self.assertEqual(delivery.state, "pending")
        self.dispatch()
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_ids.mapped("status_code"), [200, 503, 503])
        ids = {request.headers["webhook-id"] for request in self.receiver.wait_for(3)}
        self.assertEqual(ids, {delivery.uuid})
