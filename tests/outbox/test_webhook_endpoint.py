"""Endpoint configuration and the screens' actions: validation messages,
who may see the secret, Send test event, Retry now / Cancel / Requeue /
Replay, the dispatcher count setting and the retention clean-up."""

import json
from datetime import timedelta
from unittest.mock import patch

from psycopg2.errors import CheckViolation
from standardwebhooks.webhooks import Webhook

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_gateway.models import integration_webhook_delivery

from ..common import WebhookCase


@tagged("post_install", "-at_install")
class TestWebhookEndpoint(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_endpoint_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )

    def test_bad_configuration_is_refused_with_a_clear_message(self):
        cases = [
            ({"url": "not a url"}, "URL of endpoint Bad is not valid: 'not a url'"),
            ({"headers": "{bad"}, "headers of endpoint Bad are not valid: .* JSON"),
            ({"headers": '["X-A"]'}, "must be a JSON object"),
            ({"headers": '{"webhook-id": "x"}'}, "'webhook-id' is set by the sender"),
            ({"headers": '{"X-A": 1}'}, "the value of header 'X-A' must be text"),
            ({"retry_schedule": "5s, soon"}, "retry schedule of .* not valid: 'soon'"),
        ]
        for values, message in cases:
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(ValidationError, message),
            ):
                self.Endpoint.create(
                    {"name": "Bad", "url": "https://hooks.example.com/x", **values}
                )
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaisesRegex(
                CheckViolation, "integration_webhook_endpoint_timeout_range"
            ),
            self.env.cr.savepoint(),
        ):
            self.Endpoint.create(
                {"name": "Slow", "url": "https://x.example.com", "timeout": 600}
            )

    def test_secret_is_for_system_administrators_only(self):
        endpoint = self.Endpoint.with_user(self.manager).create(
            {"name": "CRM", "url": "https://crm.example.com/hook"}
        )
        self.assertTrue(endpoint.sudo().secret.startswith("whsec_"))
        self.assertEqual(endpoint.name, "CRM")
        with self.assertRaises(AccessError):
            _secret = endpoint.secret
        with self.assertRaises(AccessError):
            endpoint.read(["secret"])
        with self.assertRaises(AccessError):
            endpoint.read(["headers"])  # they often carry credentials too
        with self.assertRaises(AccessError):
            endpoint.action_rotate_secret()
        self.assertFalse(
            {"secret", "previous_secret", "headers"} & set(endpoint.fields_get())
        )
        admin_view = self.Endpoint.with_user(self.env.ref("base.user_admin"))
        self.assertTrue(admin_view.browse(endpoint.id).secret.startswith("whsec_"))

    def test_private_networks_are_allowed_by_system_administrators_only(self):
        endpoint = self.make_endpoint("/ok")
        as_manager = endpoint.with_user(self.manager)
        with self.assertRaises(AccessError):
            as_manager.allow_private_network = False
        with self.assertRaises(AccessError):
            self.Endpoint.with_user(self.manager).create(
                {"name": "Metadata", "url": "http://169.254.169.254/latest"}
            ).allow_private_network = True
        self.assertNotIn("allow_private_network", as_manager.fields_get())

        # The permission was given for the URL an administrator saw: a
        # manager who points the endpoint elsewhere loses it...
        as_manager.url = "http://169.254.169.254/latest/meta-data/"
        self.assertFalse(endpoint.allow_private_network)
        result = as_manager.action_send_test_event()
        self.assertIn("cloud metadata address", result["params"]["message"])
        # ...while an administrator's change keeps it.
        endpoint.allow_private_network = True
        endpoint.with_user(self.env.ref("base.user_admin")).url = self.receiver.url(
            "/ok"
        )
        self.assertTrue(endpoint.allow_private_network)

    def test_deliveries_change_through_their_actions_only(self):
        """Odoo signs what a delivery holds: nobody below the superuser
        rewrites its payload, endpoint or id."""
        endpoint = self.make_endpoint("/ok")
        delivery = self.enqueue(endpoint).with_user(self.manager)
        for values in (
            {"payload": '{"_model": "res.users", "_id": 2}'},
            {"endpoint_id": self.make_endpoint("/other").id},
            {"uuid": "forged"},
            {"state": "delivered"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                delivery.write(values)
        with self.assertRaises(AccessError):
            self.Delivery.with_user(self.manager).create(
                {"endpoint_id": endpoint.id, "payload": "{}"}
            )
        delivery.action_cancel()
        self.assertEqual(delivery.state, "cancelled")
        self.assertEqual(delivery.sudo().payload, self.enqueue(endpoint).payload)

    def test_screens_open_for_an_integration_manager(self):
        """Every field the manager's views show can be read by the manager
        (server actions, secrets and extra headers are for administrators)."""
        endpoint = self.make_endpoint("/ok")
        self.enqueue(endpoint)
        self.dispatch()
        records = {
            "integration.webhook.endpoint": endpoint,
            "integration.webhook.delivery": endpoint.delivery_ids,
            "integration.webhook.attempt": endpoint.delivery_ids.attempt_ids,
        }
        for model, record in records.items():
            views = (
                self.env[model]
                .with_user(self.manager)
                .get_views([(False, "list"), (False, "form"), (False, "search")])
            )
            shown = views["models"][model]["fields"]
            self.assertNotIn("secret", shown)
            with self.subTest(model=model):
                self.assertTrue(record.with_user(self.manager).read(list(shown)))

    def test_send_test_event_is_synchronous_and_shows_the_result(self):
        endpoint = self.make_endpoint("/ok")
        result = endpoint.with_user(self.manager).action_send_test_event()
        self.assertEqual(result["params"]["type"], "success")
        self.assertRegex(
            result["params"]["message"], r"^Test event delivered: HTTP 200 in \d+ ms\.$"
        )
        got = self.receiver.wait_for(1)[0]
        payload = Webhook(endpoint.sudo().secret).verify(got.body, got.headers)
        self.assertEqual(payload["_test"], True)
        test_delivery = self.Delivery.search([("endpoint_id", "=", endpoint.id)])
        self.assertRecordValues(
            test_delivery, [{"is_test": True, "state": "delivered", "attempt_count": 1}]
        )
        self.assertEqual(test_delivery.attempt_ids.status_code, 200)

    def test_failed_test_event_says_why_and_leaves_health_alone(self):
        endpoint = self.make_endpoint("/status/500")
        result = endpoint.action_send_test_event()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("The receiver answered HTTP 500", result["params"]["message"])
        self.assertIn("status 500", result["params"]["message"])
        self.assertEqual(endpoint.consecutive_failures, 0)

        refused = self.Endpoint.create(
            {"name": "internal", "url": self.receiver.url("/ok")}
        )
        result = refused.action_send_test_event()
        self.assertIn("loopback address", result["params"]["message"])
        self.assertEqual(len(self.receiver.requests), 1)

    def test_retry_now_cancel_requeue(self):
        endpoint = self.make_endpoint("/status/500")
        delivery = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(delivery.state, "retrying")
        delivery.with_user(self.manager).action_retry_now()
        self.assertLessEqual(delivery.next_attempt_at, fields.Datetime.now())
        self.dispatch()
        self.assertEqual(delivery.attempt_count, 2)

        delivery.with_user(self.manager).action_cancel()
        self.assertEqual(delivery.state, "cancelled")
        self.make_due(delivery)
        self.dispatch()
        self.assertEqual(
            len(self.receiver.requests), 2, "a cancelled delivery is not sent"
        )
        with self.assertRaisesRegex(UserError, "Only pending or retrying"):
            delivery.action_retry_now()

        endpoint.url = self.receiver.url("/ok")
        delivery.with_user(self.manager).action_requeue()
        self.assertRecordValues(delivery, [{"state": "pending", "attempt_count": 0}])
        self.dispatch()
        self.assertEqual(delivery.state, "delivered")
        got = self.receiver.wait_for(3)
        self.assertEqual({r.headers["webhook-id"] for r in got}, {delivery.uuid})
        with self.assertRaisesRegex(
            UserError, "Delivered webhooks cannot be cancelled"
        ):
            delivery.action_cancel()
        with self.assertRaisesRegex(UserError, "Only dead or cancelled"):
            delivery.action_requeue()

    def test_cancel_waits_for_an_attempt_under_way_not_for_a_dead_one(self):
        delivery = self.enqueue(self.make_endpoint("/ok"))
        delivery.flush_recordset()

        def lease(minutes):
            self.env.cr.execute(
                "UPDATE integration_webhook_delivery SET state = 'sending', "
                "lease_token = 'claimed', lease_expires_at = %s WHERE id = %s",
                [fields.Datetime.now() + timedelta(minutes=minutes), delivery.id],
            )
            delivery.invalidate_recordset()

        lease(2)
        with self.assertRaisesRegex(UserError, "being sent right now"):
            delivery.with_user(self.manager).action_cancel()
        lease(-1)  # its dispatcher died
        delivery.with_user(self.manager).action_cancel()
        self.assertRecordValues(
            delivery, [{"state": "cancelled", "lease_token": False}]
        )

    def test_replay_dead_deliveries_since_a_date(self):
        endpoint = self.make_endpoint("/ok")
        old, recent, alive = (self.enqueue(endpoint) for _ in range(3))
        (old | recent).write({"state": "dead"})
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET create_date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(days=3), old.id],
        )
        old.invalidate_recordset()
        wizard = (
            self.env["integration.webhook.replay"]
            .with_user(self.manager)
            .create(
                {
                    "endpoint_id": endpoint.id,
                    "since": fields.Datetime.now() - timedelta(days=1),
                }
            )
        )
        self.assertEqual(wizard.delivery_count, 1)
        result = wizard.action_replay()
        self.assertEqual(
            result["params"]["message"],
            f"1 deliveries queued again for {endpoint.name}.",
        )
        self.assertEqual(
            (old | recent | alive).mapped("state"), ["dead", "pending", "pending"]
        )
        self.dispatch()
        self.assertEqual((recent | alive).mapped("state"), ["delivered", "delivered"])
        with self.assertRaisesRegex(UserError, "No failed delivery"):
            wizard.action_replay()

    def test_dispatcher_count_setting_creates_and_archives_crons(self):
        def active_dispatchers():
            return self.Dispatcher._crons().filtered("active")

        self.assertEqual(len(active_dispatchers()), 2)
        self.env["res.config.settings"].create(
            {"integration_dispatcher_count": 4}
        ).execute()
        crons = active_dispatchers()
        self.assertEqual(len(crons), 4)
        self.assertEqual(set(crons.mapped("code")), {"model._cron_dispatch()"})
        self.assertEqual(crons[3].name, "Integrations: webhook dispatcher 4")
        self.assertEqual(
            self.env.ref("integration_gateway.ir_cron_webhook_dispatcher_4"), crons[3]
        )
        self.env["res.config.settings"].create(
            {"integration_dispatcher_count": 1}
        ).execute()
        self.assertEqual(active_dispatchers(), crons[0])
        self.assertEqual(len(self.Dispatcher._crons()), 4, "archived, not deleted")
        with self.assertRaisesRegex(UserError, "between 1 and 32"):
            self.env["res.config.settings"].create(
                {"integration_dispatcher_count": 0}
            ).execute()

    def test_retention_removes_old_delivered_webhooks_in_batches(self):
        endpoint = self.make_endpoint("/ok")
        deliveries = self.Delivery.create(
            [
                {"endpoint_id": endpoint.id, "payload": json.dumps({"n": n})}
                for n in range(5)
            ]
        )
        self.dispatch()
        old_delivered, recent_delivered = deliveries[:3], deliveries[3]
        old_dead = deliveries[4]
        old_dead.state = "dead"
        long_ago = fields.Datetime.now() - timedelta(days=31)
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET delivered_at = %s "
            "WHERE id = ANY(%s)",
            [long_ago, (old_delivered | old_dead).ids],
        )
        self.env.cr.execute(
            "UPDATE integration_webhook_attempt SET started_at = %s "
            "WHERE delivery_id = ANY(%s)",
            [long_ago, (old_delivered | old_dead).ids],
        )
        self.env.invalidate_all()
        with patch.object(integration_webhook_delivery, "GC_BATCH", 2):
            # 2 deliveries (with their attempts), then 2 of the other old attempts
            self.assertEqual(self.Delivery._gc_delivered(), (4, 1))
            self.assertEqual(self.Delivery._gc_delivered(), (1, 0))
        self.assertEqual(deliveries.exists(), recent_delivered | old_dead)
        self.assertTrue(recent_delivered.attempt_ids)
        self.assertFalse(
            old_dead.attempt_ids, "old attempts go, whatever their delivery"
        )
