"""What the admin screens compute and allow: health from the recent success
rate, the Overview's tiles, deliveries found by their record, list actions
that skip what they cannot act on, nothing deleted that must stay, and
names and texts people read."""

import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestScreens(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_screens_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
            tz="Europe/Brussels",
        )
        cls.Delivery = cls.env["integration.webhook.delivery"].sudo()
        cls.endpoint = cls.env["integration.webhook.endpoint"].create(
            {"name": "Screens", "url": "https://receiver.example.com/screens"}
        )
        cls.customer = cls.env["res.partner"].create({"name": "Screens Order Co"})
        cls.now = fields.Datetime.now()

    def delivery(self, state="pending", record=None, **values):
        record = record or self.customer
        return self.Delivery.create(
            {
                "endpoint_id": self.endpoint.id,
                "payload": '{"_model":"res.partner","_id":1}',
                "res_model": record._name,
                "res_id": record.id,
                "state": state,
                **values,
            }
        )

    def attempts(self, delivery, codes):
        self.env["integration.webhook.attempt"].sudo().create(
            [
                {
                    "delivery_id": delivery.id,
                    "started_at": self.now,
                    "duration_ms": 10,
                    "status_code": code,
                }
                for code in codes
            ]
        )

    # -- point 8: health and the Overview's tiles ----------------------------

    def test_half_failed_attempts_are_not_healthy(self):
        delivery = self.delivery("delivered")
        self.attempts(delivery, [200, 500] * 10 + [200])
        self.endpoint.invalidate_recordset()
        self.assertEqual(self.endpoint.consecutive_failures, 0, "last answer: 2xx")
        self.assertEqual(self.endpoint.health, "failing")
        self.attempts(delivery, [200] * 400)
        self.endpoint.invalidate_recordset()
        self.assertEqual(self.endpoint.health, "healthy")

    def test_overview_tiles_count_the_last_24_hours(self):
        Rejection = self.env["integration.webhook.rejection"].sudo()
        Rejection.create(
            [
                {"received_at": self.now, "reason": "signature", "count": 3},
                {"received_at": self.now - timedelta(hours=1), "reason": "schema"},
                {"received_at": self.now - timedelta(hours=30), "reason": "schema"},
            ]
        )
        Usage = self.env["integration.api.usage"].sudo()
        Usage.create(
            [
                {"date": self.now.date(), "calls": 9, "rate_limited": 4, "denied": 2},
                {
                    "date": self.now.date() - timedelta(days=5),
                    "calls": 9,
                    "rate_limited": 50,
                    "denied": 50,
                },
            ]
        )
        tiles = (
            self.env["integration.webhook.endpoint"]
            .with_user(self.manager)
            .integration_overview_tiles()
        )
        counts = {tile["name"]: tile["count"] for tile in tiles}
        self.assertGreaterEqual(counts["incoming_refused"], 4)
        self.assertGreaterEqual(counts["api_rate_limited"], 4)
        self.assertGreaterEqual(counts["api_denied"], 2)
        for tile in tiles:
            action = tile["action"]
            model = self.env[action["res_model"]].with_user(self.manager)
            shown = model.search(action["domain"])
            if action["res_model"] == "integration.webhook.rejection":
                self.assertEqual(sum(shown.mapped("count")), tile["count"])
            else:
                field = tile["name"].removeprefix("api_")
                self.assertEqual(sum(shown.mapped(field)), tile["count"])
            self.assertTrue(shown, f"tile {tile['name']} opens the rows it counts")

    # -- point 5 and 6: what the buttons open, deliveries by record -----------

    def test_smart_buttons_open_what_they_count(self):
        self.delivery("dead")
        self.delivery("dead")
        self.delivery("pending")
        self.delivery("delivered")
        endpoint = self.endpoint.with_user(self.manager)
        self.assertEqual(
            (endpoint.dead_count, endpoint.waiting_count, endpoint.delivery_count),
            (2, 1, 4),
        )
        Delivery = self.env["integration.webhook.delivery"].with_user(self.manager)
        for method, filter_name in (
            ("action_open_dead", "search_default_dead"),
            ("action_open_waiting", "search_default_waiting"),
        ):
            action = getattr(endpoint, method)()
            self.assertEqual(action["context"][filter_name], 1)
            self.assertEqual(Delivery.search_count(action["domain"]), 4)
        menu = self.env.ref("integration_gateway.integration_webhook_delivery_action")
        self.assertIn("search_default_waiting", menu.context)
        self.assertIn("search_default_dead", menu.context)

    def test_deliveries_found_by_their_record_name_and_id(self):
        other = self.env["res.partner"].create({"name": "Unrelated Buyer"})
        mine = self.delivery() | self.delivery("dead")
        self.delivery(record=other)
        Delivery = self.env["integration.webhook.delivery"].with_user(self.manager)
        found = Delivery.search([("record_name", "ilike", "screens order")])
        self.assertEqual(found, mine)
        by_id = Delivery.search(
            [("record_name", "ilike", str(self.customer.id))]
        ).filtered(lambda d: d.endpoint_id == self.endpoint)
        self.assertEqual(by_id, mine)
        self.assertEqual(
            mine[0].with_user(self.manager).record_name, "Screens Order Co"
        )

    def test_a_record_offers_its_deliveries_in_its_actions_menu(self):
        Actions = self.env["ir.actions.actions"].with_user(self.manager)

        def offered(model):
            return [
                action["name"]
                for action in Actions.get_bindings(model).get("action", ())
            ]

        self.assertNotIn("Webhook Deliveries", offered("res.partner.category"))
        self.delivery()
        self.assertIn("Webhook Deliveries", offered("res.partner"))
        user = new_test_user(
            self.env, login="ig_screens_user", groups="base.group_user"
        )
        self.assertNotIn(
            "Webhook Deliveries",
            [
                a["name"]
                for a in Actions.with_user(user)
                .get_bindings("res.partner")
                .get("action", ())
            ],
        )

    # -- point 11: buttons that work -----------------------------------------

    def test_list_actions_act_on_eligible_rows_and_count_the_rest(self):
        dead, pending, delivered = (
            self.delivery("dead"),
            self.delivery("pending"),
            self.delivery("delivered"),
        )
        stuck = self.delivery(
            "sending", lease_expires_at=self.now - timedelta(minutes=1)
        )
        busy = self.delivery("sending", lease_expires_at=self.now + timedelta(hours=1))
        rows = (dead | pending | delivered | stuck | busy).with_user(self.manager)
        self.assertEqual(
            rows.mapped("lease_expired"), [False, False, False, True, False]
        )
        result = rows.action_list_cancel()
        self.assertEqual(
            result["params"]["message"],
            "3 cancelled. 2 skipped: their state does not allow it.",
        )
        self.assertEqual(
            rows.mapped("state"),
            ["cancelled", "cancelled", "delivered", "cancelled", "sending"],
        )
        result = rows.action_list_requeue()
        self.assertIn("3 queued again.", result["params"]["message"])
        self.assertIn("2 skipped", result["params"]["message"])
        result = rows.action_list_retry_now()
        self.assertIn("3 made due now.", result["params"]["message"])

    def test_managers_delete_neither_deliveries_nor_rejections(self):
        delivery = self.delivery("pending").with_user(self.manager)
        with self.assertRaises(AccessError):
            delivery.unlink()
        rejection = (
            self.env["integration.webhook.rejection"]
            .sudo()
            .create({"received_at": self.now, "reason": "signature"})
        )
        with self.assertRaises(AccessError):
            rejection.with_user(self.manager).unlink()

    # -- point 12: what people read ------------------------------------------

    def test_names_payload_and_times_as_people_read_them(self):
        delivery = self.delivery("dead")
        self.attempts(delivery, [503])
        attempt = delivery.attempt_ids.with_user(self.manager)
        self.assertIn(delivery.uuid[:8], attempt.display_name)
        self.assertIn("HTTP 503", attempt.display_name)
        rejection = (
            self.env["integration.webhook.rejection"]
            .sudo()
            .create(
                {
                    "received_at": self.now,
                    "reason": "signature",
                    "validator_name": "Web shop",
                }
            )
        )
        self.assertIn("Signature refused", rejection.display_name)
        self.assertIn("Web shop", rejection.display_name)
        self.assertEqual(
            delivery.payload_pretty,
            json.dumps({"_model": "res.partner", "_id": 1}, indent=2),
        )
        admin = self.env.ref("base.user_admin")
        admin.tz = "Asia/Tokyo"
        endpoint = self.endpoint.with_user(admin)
        endpoint.action_rotate_secret()
        body = endpoint.message_ids[:1].body
        self.assertIn("(Asia/Tokyo)", body)
        self.assertNotIn("(UTC)", body)
