"""The scenarios of the documentation, clicked through in a real browser.

Each test sets the scene with real parts (a receiver on 127.0.0.1, the
dispatcher, JSON/2 calls, signed webhook calls), runs the tours of its
scenario, which save the README's screenshots, and checks what the clicks
did.
"""

import json
from datetime import timedelta

import requests

from odoo import sql_db
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ...lib import standard_webhooks
from ...lib.defaults import DEFAULT_POLICY_PARAM
from ..common import ApiKeyMixin, forget_rate_limits, make_due, run_dispatcher
from ..webhook_receiver import WebhookReceiver
from .test_examples import ORDER, load_example
from .tour_screenshots import ScreenshotTourCase

# The web shop's secret, as typed in integration_shop_tour.js.
SHOP_SECRET = "whsec_c2hvcC1zaWduaW5nLXNlY3JldC1mb3ItdGhlLXRvdXI="


@tagged("post_install", "-at_install")
class TestScenarioTours(ApiKeyMixin, ScreenshotTourCase):
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
        run_dispatcher(self)

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

    def api_user(self, name, login):
        return new_test_user(
            self.env,
            login=login,
            name=name,
            groups="base.group_user,base.group_partner_manager",
        )

    def make_key(self, user, name, policy=None):
        """A key ``user`` made for themselves, optionally under ``policy``;
        returns the token and the key."""
        return self.issue_key(user, policy, name=name, days=30)

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
        make_due(dead)
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
        attempt, then the automation whose queued webhook posts to it: on
        sales orders when Sales is installed (``make screenshots``, whose
        pictures the README shows), else on contacts, without pictures."""
        on_sales = "sale.order" in self.env
        url = "/odoo/action-integration_gateway.integration_webhook_endpoint_action"
        if on_sales:
            self.start_screenshot_tour(
                f"{url}?debug=1",
                "integration_gateway_warehouse",
                "integration_warehouse_tour.js",
            )
        else:
            self.start_tour(
                f"{url}?debug=1",
                "integration_gateway_warehouse_contacts",
                login="admin",
                timeout=120,
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

        record = self._confirmed_order() if on_sales else self._new_contact()
        self.dispatch()
        event = self.receiver.wait_for(2)[1]
        self.assertEqual(
            standard_webhooks.verify([endpoint.secret], event.headers, event.body),
            event.headers["webhook-id"],
        )
        payload = json.loads(event.body)
        self.assertEqual((payload["_model"], payload["_id"]), (record._name, record.id))
        if on_sales:
            self.assertEqual(rule.trigger, "on_state_set")
            self.assertEqual(
                set(action.webhook_field_ids.mapped("name")),
                {"name", "partner_id", "order_line", "partner_shipping_id"},
            )
            self.assertEqual(payload["name"], record.name)
            self.assertEqual(payload["order_line"], record.order_line.ids)
        self.assertEqual(endpoint.delivery_ids.filtered("is_test").state, "delivered")

    def _confirmed_order(self):
        """A sales order, confirmed: the warehouse is to ship it."""
        customer = self.env["res.partner"].create({"name": "Azure Interior"})
        product = self.env["product.product"].create({"name": "Office chair"})
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [(0, 0, {"product_id": product.id})],
            }
        )
        order.action_confirm()
        return order

    def _new_contact(self):
        return self.env["res.partner"].create({"name": "Azure Interior"})

    def test_retry(self):
        """Outgoing: a delivery the receiver refused until it died is sent
        again, with the same webhook-id."""
        carrier = self.endpoint("Carrier", "/script/carrier", retry_schedule="1m")
        self.receiver.scripts["carrier"].extend(
            [(503, {}, b"down for maintenance")] * 2
        )
        delivery = self.queue(carrier, 1)
        self.dispatch()
        make_due(delivery)
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

    def test_bi_dashboard_key(self):
        """API keys: a read-only, rate-limited policy made on its screen and
        a key issued under it for the dashboard's user."""
        user = self.api_user("BI Dashboard", "bi_dashboard")
        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.action_integration_api_policy?debug=1",
            "integration_gateway_bi_key",
            "integration_api_keys_tour.js",
        )
        policy = self.env["integration.api.policy"].search(
            [("name", "=", "BI dashboard")]
        )
        self.assertTrue(policy.read_only)
        self.assertEqual(policy.rate_limit, "60/minute; 5000/day")
        self.assertEqual(
            policy.rule_ids.mapped("model_pattern"),
            ["res.partner, sale.order, sale.order.line, product.*"],
        )
        key = self.env["res.users.apikeys"].search([("user_id", "=", user.id)])
        self.assertEqual(key.name, "Sales dashboard")
        self.assertEqual(key.integration_policy_id, policy)

    def test_mobile_app_key(self):
        """API keys: the key a user made has the mobile app's policy, the
        default one, as the list of keys says; then the usage of the keys,
        per key and day."""
        mobile_user = self.api_user("Mobile App", "mobile_app")
        bi_user = self.api_user("BI Dashboard", "bi_dashboard")
        Policy = self.env["integration.api.policy"]
        mobile = Policy.create(
            {
                "name": "Mobile app",
                "rate_limit": "120/minute",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "model_pattern": "res.partner, sale.order",
                            "method_pattern": "search_read, read, create, write",
                        },
                    ),
                ],
            }
        )
        bi = Policy.create(
            {
                "name": "BI dashboard",
                "read_only": True,
                "rate_limit": "3/minute",
                "rule_ids": [(0, 0, {"model_pattern": "res.partner, sale.*"})],
            }
        )
        # Settings: the mobile app's policy is the default one.
        self.env["ir.config_parameter"].set_param(DEFAULT_POLICY_PARAM, str(mobile.id))
        mobile_token, mobile_key = self.make_key(mobile_user, "Mobile app")
        bi_token, _bi_key = self.make_key(bi_user, "Sales dashboard", bi)
        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.action_integration_api_keys?debug=1",
            "integration_gateway_mobile_key",
            "integration_api_keys_tour.js",
        )
        self.assertFalse(mobile_key.integration_policy_id)
        self.assertEqual(
            mobile_key.integration_policy_label, "Default policy: Mobile app"
        )

        self.logout()  # the calls of the apps carry no session
        allowed = self.json2(
            mobile_token, "res.partner", "search_read", fields=["name"], limit=1
        )
        self.assertEqual(allowed.status_code, 200, allowed.text)
        with mute_logger("odoo.http"):
            denied = self.json2(
                mobile_token, "res.users", "search_read", fields=["name"], limit=1
            )
        self.assertEqual(denied.status_code, 403)
        self.assertIn("Mobile app", denied.json()["message"])
        codes = [
            self.json2(bi_token, "res.partner", "search_count", domain=[]).status_code
            for _call in range(5)
        ]
        self.assertEqual(codes, [200, 200, 200, 429, 429])
        self.env["integration.api.usage"]._cron_collect()

        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.action_integration_api_usage?debug=1",
            "integration_gateway_api_usage",
            "integration_api_keys_tour.js",
        )
        usage = self.env["integration.api.usage"].search([])
        self.assertEqual(
            {(u.key_name, u.calls, u.rate_limited, u.denied) for u in usage},
            {("Mobile app", 2, 0, 1), ("Sales dashboard", 5, 2, 0)},
        )

    def test_shop_orders(self):
        """Incoming: a validator for the web shop's signed orders, the
        automation it guards, orders sent by the shop's snippet, and the
        calls it refused: the orders become sales orders when Sales is
        installed (``make screenshots``, whose pictures the README shows),
        else their customers become contacts, without pictures."""
        on_sales = "sale.order" in self.env
        url = (
            "/odoo/action-integration_gateway.action_integration_webhook_validator"
            "?debug=1"
        )
        if on_sales:
            self.start_screenshot_tour(
                url, "integration_gateway_shop", "integration_shop_tour.js"
            )
            desk = self.env["product.product"].create(
                {"name": "Desk", "default_code": "DESK-01"}
            )
        else:
            self.start_tour(
                url, "integration_gateway_shop_contacts", login="admin", timeout=120
            )
        automation = self.env["base.automation"].search(
            [("name", "=", "Web shop order")]
        )
        validator = automation.webhook_validator_id
        self.assertEqual(validator.name, "Web shop orders")
        self.assertEqual(validator.signature_scheme, "standard_webhooks")
        self.assertTrue(validator.replay_protection)
        self.assertIn('"minItems": 1', validator.json_schema)
        self.addCleanup(self._forget_rejections, automation.webhook_uuid)
        self.addCleanup(
            forget_rate_limits, self.env.cr.dbname, f"webhook:{validator.id}:%"
        )

        send_order = load_example("shop_webhook").send_order
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            self.assertEqual(
                send_order(automation.url, SHOP_SECRET, ORDER), {"status": "ok"}
            )
            self.assertEqual(
                send_order(automation.url, SHOP_SECRET, ORDER),
                {"status": "ok", "duplicate": True},
            )
            for secret, order in (
                (standard_webhooks.generate_secret(), {**ORDER, "ref": "SO-7"}),
                (SHOP_SECRET, {**ORDER, "ref": "SO-8", "lines": []}),
            ):
                with self.assertRaises(requests.HTTPError):
                    send_order(automation.url, secret, order)
        self.env.invalidate_all()
        if on_sales:
            order = self.env["sale.order"].search(
                [("client_order_ref", "=", "SO-1042")]
            )
            self.assertEqual(order.partner_id.email, "deco@example.com")
            self.assertEqual(
                [(line.product_id, line.product_uom_qty) for line in order.order_line],
                [(desk, 2)],
            )
        else:
            customer = self.env["res.partner"].search([("ref", "=", "SO-1042")])
            self.assertEqual(customer.email, "deco@example.com")

        self._adopt_rejections(automation.webhook_uuid)
        self.start_screenshot_tour(
            "/odoo/action-integration_gateway.action_integration_webhook_rejection"
            "?debug=1",
            "integration_gateway_rejections",
            "integration_shop_tour.js",
        )
        rejections = self.env["integration.webhook.rejection"].search(
            [("webhook_uuid", "=", automation.webhook_uuid)]
        )
        self.assertEqual(sorted(rejections.mapped("reason")), ["schema", "signature"])

    def _forget_rejections(self, webhook_uuid):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM integration_webhook_rejection WHERE webhook_uuid = %s",
                [webhook_uuid],
            )

    def _adopt_rejections(self, webhook_uuid):
        """Moves the rejections of a webhook, committed on connections of
        their own, into this test's transaction, whose snapshot predates
        them: the browser sees them there, and they go with the rollback."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            cr.execute(
                "DELETE FROM integration_webhook_rejection WHERE webhook_uuid = %s"
                " RETURNING received_at, reason, status_code, message,"
                " validator_ref, validator_name, automation_ref, automation_name,"
                " webhook_uuid, remote_addr, request_headers, body_excerpt",
                [webhook_uuid],
            )
            rows = cr.dictfetchall()
        self.assertTrue(rows)
        self.env["integration.webhook.rejection"].sudo().create(rows)
