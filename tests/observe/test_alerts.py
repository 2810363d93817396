"""Alerts before an endpoint breaks, when it is disabled and when it
recovers, each told once however often the check runs; and dead
deliveries told at most once per endpoint per hour."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_gateway.tests.common import WebhookCase


@tagged("post_install", "-at_install")
class TestEndpointAlerts(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = new_test_user(
            cls.env,
            "alert_owner",
            groups="base.group_user,integration_gateway.group_integration_manager",
            email="owner@example.com",
        )
        cls.warning = cls.env.ref("mail.mail_activity_data_warning")

    def setUp(self):
        super().setUp()
        self.endpoint = self.make_endpoint("/status/500", user_id=self.owner.id)
        self.operator = self.make_endpoint("/ok", name="Operator")
        self.operator.event_type_ids = self.env.ref(
            "integration_gateway.event_type_endpoint_failing"
        ) | self.env.ref("integration_gateway.event_type_endpoint_recovered")

    def check(self):
        self.env["integration.webhook.endpoint"]._cron_check_alerts()

    def messages(self, needle):
        return self.endpoint.message_ids.filtered(lambda m: needle in (m.body or ""))

    def alert_activities(self):
        return self.endpoint.activity_ids.filtered(
            lambda a: a.activity_type_id == self.warning
        )

    def operator_events(self, name):
        deliveries = self.Delivery.search([("endpoint_id", "=", self.operator.id)])
        return [
            json.loads(d.payload) for d in deliveries if d.event_type_id.name == name
        ]

    def test_failing_told_once_then_recovery(self):
        self.endpoint.sudo().write(
            {
                "failing_since": fields.Datetime.now() - timedelta(hours=2),
                "consecutive_failures": 7,
            }
        )
        self.check()
        self.check()
        failing = self.messages("is failing")
        self.assertEqual(len(failing), 1, "one message, not one per check")
        self.assertIn(self.owner.partner_id, failing.partner_ids)
        self.assertIn(self.owner.partner_id, self.endpoint.message_partner_ids)
        self.assertEqual(len(self.alert_activities()), 1)
        self.assertEqual(self.alert_activities().user_id, self.owner)
        self.assertEqual(self.endpoint.alert_state, "failing")
        [event] = self.operator_events("integration.endpoint.failing")
        self.assertEqual(
            (event["_id"], event["consecutive_failures"]), (self.endpoint.id, 7)
        )
        self.assertNotIn("url", event, "the URL may hold credentials")
        self.assertFalse(
            self.Delivery.search(
                [("endpoint_id", "=", self.endpoint.id), ("event_type_id", "!=", False)]
            ),
            "an endpoint is not told of its own failure",
        )
        # A success: it recovers, once.
        self.endpoint.sudo().write({"failing_since": False, "consecutive_failures": 0})
        self.check()
        self.check()
        self.assertEqual(len(self.messages("recovered: deliveries")), 1)
        self.assertFalse(self.endpoint.alert_state)
        self.assertFalse(self.alert_activities(), "the alert's activity is done")
        self.assertEqual(len(self.operator_events("integration.endpoint.recovered")), 1)

    def test_not_failing_long_enough_says_nothing(self):
        self.endpoint.sudo().failing_since = fields.Datetime.now() - timedelta(
            minutes=20
        )
        self.check()
        self.assertFalse(self.messages("is failing"))
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.alert_failing_minutes", "10"
        )
        self.check()
        self.assertEqual(len(self.messages("is failing")), 1)

    def test_old_backlog_is_failing(self):
        delivery = self.enqueue(self.endpoint)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET create_date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(hours=3), delivery.id],
        )
        self.check()
        self.assertEqual(len(self.messages("is failing")), 1)

    def test_disabled_by_the_dispatcher(self):
        self.endpoint.sudo().write(
            {
                "failing_since": fields.Datetime.now() - timedelta(days=6),
                "consecutive_failures": 40,
            }
        )
        delivery = self.enqueue(self.endpoint)
        self.dispatch()
        self.receiver.wait_for(1)
        self.assertTrue(self.endpoint.disabled_at, delivery.last_error)
        self.assertEqual(self.endpoint.alert_state, "disabled")
        self.assertEqual(len(self.messages("was disabled")), 1)
        self.assertEqual(len(self.alert_activities()), 1)
        self.check()
        self.assertEqual(len(self.messages("was disabled")), 1, "told once")

    def test_dead_deliveries_told_once_an_hour(self):
        deliveries = self.enqueue(self.endpoint) | self.enqueue(self.endpoint)
        self.env.flush_all()
        deliveries.sudo().write({"state": "dead"})
        self.check()
        [notice] = self.messages("went dead")
        self.assertIn("2 deliveries", notice.body)
        self.assertIn(self.owner.partner_id, notice.partner_ids)
        more = self.enqueue(self.endpoint)
        more.sudo().write({"state": "dead"})
        self.check()
        self.assertEqual(len(self.messages("went dead")), 1, "once per hour")
        # An hour later (the first two went dead before the first notice).
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET write_date = %s"
            " WHERE id = ANY(%s)",
            [fields.Datetime.now() - timedelta(hours=2), deliveries.ids],
        )
        self.endpoint.sudo().dead_notified_at = fields.Datetime.now() - timedelta(
            minutes=61
        )
        self.check()
        self.assertEqual(len(self.messages("went dead")), 2)
        self.assertIn("1 deliveries", self.messages("went dead")[0].body)

    def test_dead_deliveries_reach_managers_without_responsible(self):
        self.assertFalse(
            self.make_endpoint("/other").user_id, "OdooBot is nobody's responsible"
        )
        mine = self.Endpoint.with_user(self.owner).create(
            {"name": "Mine", "url": "https://example.com/mine"}
        )
        self.assertEqual(mine.user_id, self.owner, "its creator is its responsible")
        self.endpoint.user_id = False
        delivery = self.enqueue(self.endpoint)
        delivery.sudo().write({"state": "dead"})
        self.check()
        [notice] = self.messages("went dead")
        self.assertIn(self.owner.partner_id, notice.partner_ids, "a manager is told")
