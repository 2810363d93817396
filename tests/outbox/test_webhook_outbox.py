""" "Send Webhook Notification" actions and the transactional outbox: the
endpoint is chosen when the action is saved, the delivery is written with
the business change (and rolled back with it), and the payload keeps Odoo's
shape."""

import json
import logging
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged

from ..common import WebhookCase


@tagged("post_install", "-at_install")
class TestWebhookOutbox(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_model = cls.env["ir.model"]._get("res.partner")
        cls.fields = cls.env["ir.model.fields"].search(
            [("model", "=", "res.partner"), ("name", "in", ("name", "email"))]
        )

    def make_action(self, url, **values):
        return self.env["ir.actions.server"].create(
            {
                "name": "Notify the CRM",
                "model_id": self.partner_model.id,
                "state": "webhook",
                "webhook_url": url,
                **values,
            }
        )

    def run_action(self, action, record):
        action.with_context(active_model=record._name, active_id=record.id).run()

    def deliveries_of(self, record):
        return self.Delivery.search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)]
        )

    def test_saving_an_action_chooses_its_endpoint(self):
        url = self.receiver.url("/crm")
        action = self.make_action(url)
        self.assertEqual(action.webhook_delivery_mode, "queued")
        endpoint = action.webhook_endpoint_id
        self.assertEqual(endpoint.url, url)
        self.assertEqual(endpoint.name, f"127.0.0.1:{self.receiver.port}/crm")
        self.assertTrue(endpoint.sudo().secret.startswith("whsec_"))
        # Another action posting to the same URL shares the endpoint.
        self.assertEqual(self.make_action(url).webhook_endpoint_id, endpoint)

        other_url = self.receiver.url("/erp")
        action.webhook_url = other_url
        self.assertEqual(action.webhook_endpoint_id.url, other_url)
        self.assertNotEqual(action.webhook_endpoint_id, endpoint)

        # Choosing an endpoint takes its URL.
        action.webhook_endpoint_id = endpoint
        self.assertEqual(action.webhook_url, url)

        # Editing the endpoint's URL moves its actions along, even when an
        # Integration Manager (who cannot read server actions) does it.
        manager = new_test_user(
            self.env,
            login="ig_outbox_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        endpoint.with_user(manager).url = self.receiver.url("/crm/v2")
        self.assertEqual(action.webhook_url, self.receiver.url("/crm/v2"))

    def test_bad_url_is_refused_with_a_clear_message(self):
        with self.assertRaisesRegex(ValidationError, "not an http:// or https:// URL"):
            self.make_action("ftp://files.example.com/drop")
        with self.assertRaisesRegex(ValidationError, "has no host name"):
            self.make_action("https:///hook")

    def test_queued_payload_keeps_odoos_shape(self):
        action = self.make_action(
            self.receiver.url("/ok"), webhook_field_ids=[Command.set(self.fields.ids)]
        )
        action.webhook_endpoint_id.allow_private_network = True
        partner = self.env["res.partner"].create(
            {"name": "Azure", "email": "a@example.com"}
        )
        self.run_action(action, partner)
        delivery = self.deliveries_of(partner)
        self.assertRecordValues(
            delivery,
            [
                {
                    "state": "pending",
                    "endpoint_id": action.webhook_endpoint_id.id,
                    "action_id": action.id,
                }
            ],
        )
        self.assertEqual(
            json.loads(delivery.payload),
            {
                "_model": "res.partner",
                "_id": partner.id,
                "_action": f"Notify the CRM(#{action.id})",
                "id": partner.id,
                "name": "Azure",
                "email": "a@example.com",
            },
        )
        # Frozen when the event happens: later changes are not sent.
        partner.name = "Renamed"
        self.dispatch()
        got = self.receiver.wait_for(1)[0]
        self.assertEqual(json.loads(got.body)["name"], "Azure")
        self.assertEqual(delivery.state, "delivered")

    def test_queuing_an_event_costs_one_insert_and_one_wake(self):
        """The outbox write sits on the business transaction's path: the
        deliveries of an event to several endpoints are one INSERT, the
        dispatchers' wake-up one more statement, once per transaction."""
        endpoints = self.env["integration.webhook.endpoint"].create(
            [{"name": f"e{n}", "url": self.receiver.url(f"/e{n}")} for n in range(3)]
        )
        partner = self.env["res.partner"].create({"name": "Azure"})
        endpoints.mapped("delivery_ids")  # read before: must not go stale
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        deliveries = self.Delivery._enqueue_event(endpoints, '{"n": 1}', record=partner)
        self.Delivery._enqueue_event(endpoints, '{"n": 2}', record=partner)
        self.assertEqual(self.env.cr.sql_log_count - before, 2)
        before = self.env.cr.sql_log_count
        self.env.cr.precommit.run()  # what the commit runs: the wake-up
        self.assertEqual(self.env.cr.sql_log_count - before, 1)
        self.assertEqual(len(endpoints.delivery_ids), 6)
        self.assertRecordValues(
            deliveries,
            [
                {
                    "endpoint_id": endpoint.id,
                    "state": "pending",
                    "attempt_count": 0,
                    "res_model": "res.partner",
                    "res_id": partner.id,
                    "is_test": False,
                    "create_uid": self.env.uid,
                }
                for endpoint in endpoints
            ],
        )
        self.assertEqual(len(set(deliveries.mapped("uuid"))), 3)
        self.assertTrue(all(deliveries.mapped("next_attempt_at")))
        triggers = self.env["ir.cron.trigger"].search(
            [("cron_id", "in", self.env["ir.cron"]._integration_dispatcher_crons().ids)]
        )
        self.assertTrue(triggers)

    def test_an_event_of_a_saved_action_reads_only_its_record(self):
        """Once a worker ran a webhook action, its next events read neither
        the action's fields (Odoo's warning check, the payload's field
        names) nor its endpoint: the record, one INSERT."""
        endpoint = self.env["integration.webhook.endpoint"].create(
            {"name": "Cached", "url": self.receiver.url("/cached")}
        )
        action = self.make_action(
            endpoint.url, webhook_field_ids=[Command.set(self.fields.ids)]
        )
        first, second = self.env["res.partner"].create(
            [{"name": "First", "email": "a@example.com"}, {"name": "Second"}]
        )
        self.env.flush_all()  # the action saved, as it is long before its events
        self.run_action(action, first)
        self.env.flush_all()
        self.env.invalidate_all()  # as a new request does
        statements = []
        execute = type(self.env.cr).execute

        def seen(cr, query, params=None, log_exceptions=True):
            statements.append(str(getattr(query, "code", query)))
            return execute(cr, query, params, log_exceptions)

        with patch.object(type(self.env.cr), "execute", seen):
            self.run_action(action, second)
        read = " ".join(statements)
        for table in (
            "ir_act_server_webhook_field_rel",
            "ir_model_fields",
            "integration_webhook_endpoint",
        ):
            self.assertNotIn(f'FROM "{table}"', read)
        self.assertEqual(len(self.deliveries_of(second)), 1)
        self.assertEqual(
            json.loads(self.deliveries_of(second).payload)["name"], "Second"
        )

    def test_a_saved_webhook_actions_warning_follows_its_fields(self):
        """Its warnings are kept per worker, and forgotten when it changes."""
        endpoint = self.env["integration.webhook.endpoint"].create(
            {"name": "Warned", "url": self.receiver.url("/warned")}
        )
        action = self.make_action(
            endpoint.url, webhook_field_ids=[Command.set(self.fields.ids)]
        )
        self.assertFalse(action.warning)
        restricted = self.env["ir.model.fields"]._get("res.partner", "signup_type")
        action.webhook_field_ids = [Command.link(restricted.id)]
        action.invalidate_recordset(["warning"])
        self.assertIn("Group-restricted fields", action.warning)
        action.webhook_field_ids = [Command.clear()]
        action.invalidate_recordset(["warning"])
        self.assertFalse(action.warning)

    def test_no_wake_for_deliveries_that_wait(self):
        """Deliveries to an archived or disabled endpoint wait unsent: their
        event wakes no dispatcher; enabling the endpoint does."""
        archived, disabled = self.env["integration.webhook.endpoint"].create(
            [
                {"name": "archived", "url": self.receiver.url("/a"), "active": False},
                {"name": "disabled", "url": self.receiver.url("/d")},
            ]
        )
        disabled.disabled_at = fields.Datetime.now()
        partner = self.env["res.partner"].create({"name": "Waiting"})
        crons = self.env["ir.cron"]._integration_dispatcher_crons()
        Trigger = self.env["ir.cron.trigger"]
        Trigger.search([("cron_id", "in", crons.ids)]).unlink()
        deliveries = self.Delivery._enqueue_event(
            archived | disabled, '{"n": 1}', record=partner
        )
        self.env.cr.precommit.run()
        self.assertEqual(deliveries.mapped("state"), ["pending", "pending"])
        self.assertFalse(Trigger.search([("cron_id", "in", crons.ids)]))
        archived.active = True
        self.assertTrue(Trigger.search([("cron_id", "in", crons.ids)]))

    def test_no_stored_field_is_computed_from_deliveries(self):
        """Deliveries are written by one INSERT, which recomputes nothing
        (see _insert_deliveries): no stored field may depend on them."""
        # A new delivery has no attempts yet: what depends on it through
        # its attempts needs nothing.
        attempts = self.env["integration.webhook.attempt"]._fields["delivery_id"]

        def stored(tree):
            yield from (field for field in tree.root if field.store)
            for key, subtree in tree.items():
                if key != attempts:
                    yield from stored(subtree)

        for field in self.Delivery._fields.values():
            if field.store:
                dependent = list(stored(self.env.registry.get_trigger_tree([field])))
                self.assertFalse(dependent, f"{field} triggers {dependent}")

    def test_immediate_mode_keeps_odoos_behaviour(self):
        action = self.make_action(
            self.receiver.url("/ok"), webhook_delivery_mode="immediate"
        )
        partner = self.env["res.partner"].create({"name": "Azure"})
        with self.assertLogs(
            "odoo.addons.base.models.ir_actions", logging.INFO
        ) as logs:
            self.run_action(action, partner)
        self.assertIn(f"Webhook call to {self.receiver.url('/ok')}", logs.output[0])
        self.assertFalse(self.deliveries_of(partner))

    def test_an_immediate_action_leaves_its_endpoint(self):
        action = self.make_action(self.receiver.url("/crm"))
        endpoint = action.webhook_endpoint_id
        action.webhook_delivery_mode = "immediate"
        self.assertFalse(action.webhook_endpoint_id)
        # The endpoint's URL is no longer the action's to follow.
        endpoint.url = self.receiver.url("/elsewhere")
        self.assertEqual(action.webhook_url, self.receiver.url("/crm"))
        action.webhook_delivery_mode = "queued"
        self.assertEqual(action.webhook_endpoint_id.url, self.receiver.url("/crm"))

    def test_an_action_without_endpoint_fails_loudly(self):
        action = self.make_action(self.receiver.url("/ok"))
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE ir_act_server SET webhook_endpoint_id = NULL WHERE id = %s",
            [action.id],
        )
        action.invalidate_recordset()
        partner = self.env["res.partner"].create({"name": "Azure"})
        with self.assertRaisesRegex(UserError, "has no URL or no endpoint"):
            self.run_action(action, partner)

    def test_existing_actions_get_endpoints_at_install(self):
        private = self.make_action("http://10.20.30.40:8080/hook")
        public = self.make_action("http://93.184.216.34/hook")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE ir_act_server SET webhook_endpoint_id = NULL WHERE id = ANY(%s)",
            [[private.id, public.id]],
        )
        (private | public).webhook_endpoint_id.unlink()
        # Odoo takes any text as a webhook URL; this addon's endpoints do not.
        unusable = self.make_action("not a url", webhook_delivery_mode="immediate")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE ir_act_server SET webhook_delivery_mode = 'queued' WHERE id = %s",
            [unusable.id],
        )
        (private | public | unusable).invalidate_recordset()

        with self.assertLogs(
            "odoo.addons.integration_gateway.models.ir_actions_server", logging.INFO
        ) as logs:
            self.env["ir.actions.server"]._link_existing_webhook_actions()
        self.assertEqual(
            private.webhook_endpoint_id.url, "http://10.20.30.40:8080/hook"
        )
        self.assertTrue(private.webhook_endpoint_id.allow_private_network)
        self.assertFalse(public.webhook_endpoint_id.allow_private_network)
        self.assertRecordValues(
            unusable,
            [{"webhook_delivery_mode": "immediate", "webhook_endpoint_id": False}],
        )
        self.assertEqual(len(logs.output), 2)
        self.assertTrue(logs.output[0].startswith("WARNING"))
        self.assertIn("keeps immediate delivery", logs.output[0])
        self.assertIn("'not a url'", logs.output[0])
        self.assertIn("may reach private networks", logs.output[1])
        self.assertIn("10.20.30.40 is a private network address", logs.output[1])
        self.assertIn("Notify the CRM", logs.output[1])


@tagged("post_install", "-at_install")
class TestWebhookTransaction(WebhookCase):
    """The outbox row lives and dies with the business change: an automation
    creates it in the transaction that creates the partner."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "New partners to the CRM",
                "model_id": partner_model.id,
                "trigger": "on_create",
            }
        )
        cls.action = cls.env["ir.actions.server"].create(
            {
                "name": "Notify the CRM",
                "base_automation_id": cls.automation.id,
                "model_id": partner_model.id,
                "usage": "base_automation",
                "state": "webhook",
                "webhook_url": cls.receiver.url("/ok"),
            }
        )
        cls.automation.action_server_ids = [Command.set(cls.action.ids)]
        # The receiver listens on the loopback interface.
        cls.action.webhook_endpoint_id.allow_private_network = True

    def _create_partner(self, name, fail=False):
        """Creates a partner in a transaction of its own, which commits or,
        when ``fail``, rolls back."""
        with self.enter_registry_test_mode():
            if not fail:
                with self.registry.cursor() as cr:
                    api.Environment(cr, SUPERUSER_ID, {})["res.partner"].create(
                        {"name": name}
                    )
                return
            with self.assertRaises(RuntimeError), self.registry.cursor() as cr:
                api.Environment(cr, SUPERUSER_ID, {})["res.partner"].create(
                    {"name": name}
                )
                raise RuntimeError("the business change fails")

    def test_rolled_back_change_sends_nothing(self):
        self._create_partner("Rolled back", fail=True)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Rolled back")]))
        self.assertFalse(self.Delivery.search([("action_id", "=", self.action.id)]))
        self.dispatch()
        self.assertFalse(self.receiver.requests)

    def test_committed_change_is_delivered(self):
        self._create_partner("Committed")
        partner = self.env["res.partner"].search([("name", "=", "Committed")])
        delivery = self.Delivery.search([("action_id", "=", self.action.id)])
        self.assertEqual(delivery.res_id, partner.id)
        self.assertEqual(delivery.state, "pending")
        self.dispatch()
        got = self.receiver.wait_for(1)[0]
        self.assertEqual(
            json.loads(got.body),
            {
                "_model": "res.partner",
                "_id": partner.id,
                "_action": f"Notify the CRM(#{self.action.id})",
            },
        )
        self.assertEqual(delivery.state, "delivered")
