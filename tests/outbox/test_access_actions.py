"""Every action and public method of the addon's models refuses those who
may not act on its records before it does anything.

Odoo lets any logged-in user, portal users included, call any public method
of any model over RPC; many of these actions then work as superuser (send a
signed event with the administrator's extra headers, rewrite deliveries,
set crons). Each test calls the action as a user without the rights and
checks both the refusal and that nothing happened: nothing reached the
receiver, nothing was written.
"""

import json

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..common import WebhookCase

ADMIN_HEADERS = {"X-Receiver-Token": "for-the-receiver-only"}


@tagged("post_install", "-at_install")
class TestActionsRefuseUsersWithoutRights(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(
            cls.env, login="ig_access_portal", groups="base.group_portal"
        )
        cls.employee = new_test_user(
            cls.env, login="ig_access_employee", groups="base.group_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="ig_access_manager",
            groups="integration_gateway.group_integration_manager",
        )
        cls.outsiders = (cls.portal, cls.employee)

    def assertRefused(self, users, records, method, *args):
        """``method`` of ``records`` raises AccessError for each of ``users``."""
        for user in users:
            with (
                self.subTest(method=method, user=user.login),
                self.assertRaises(AccessError),
            ):
                getattr(records.with_user(user), method)(*args)

    def test_send_test_event(self):
        endpoint = self.make_endpoint("/ok", headers=json.dumps(ADMIN_HEADERS))
        self.assertRefused(self.outsiders, endpoint, "action_send_test_event")
        self.assertEqual(self.receiver.requests, [])
        self.assertFalse(self.Delivery.search([("endpoint_id", "=", endpoint.id)]))
        # Those who may change the endpoint still send one.
        endpoint.with_user(self.manager).action_send_test_event()
        self.assertEqual(
            self.receiver.wait_for(1)[0].headers["x-receiver-token"],
            "for-the-receiver-only",
        )

    def test_endpoint_actions(self):
        endpoint = self.make_endpoint("/ok")
        endpoint.disabled_at = "2026-01-01 00:00:00"
        waiting = self.enqueue(endpoint)
        due = waiting.next_attempt_at
        for method in (
            "action_enable",
            "action_rotate_secret",
            "action_open_deliveries",
            "action_open_delivery_report",
            "action_open_attempts",
            "action_open_replay",
        ):
            self.assertRefused(self.outsiders, endpoint, method)
        secret = endpoint.secret
        # Only those who may read secrets change or see them.
        self.assertRefused([self.manager], endpoint, "action_rotate_secret")
        self.assertRefused(
            [*self.outsiders, self.manager], endpoint, "action_reveal_secret"
        )
        self.assertEqual(endpoint.secret, secret)
        self.assertFalse(endpoint.previous_secret)
        self.assertTrue(endpoint.disabled_at)
        self.assertEqual(waiting.next_attempt_at, due)

    def test_delivery_actions(self):
        endpoint = self.make_endpoint("/ok")
        waiting = self.enqueue(endpoint)
        dead = self.enqueue(endpoint)
        dead.state = "dead"
        due = waiting.next_attempt_at
        for records, method in (
            (waiting, "action_retry_now"),
            (waiting, "action_cancel"),
            (dead, "action_requeue"),
        ):
            self.assertRefused(self.outsiders, records, method)
            # On no record at all too: no dispatcher woken, nothing written.
            self.assertRefused(self.outsiders, self.Delivery.browse(), method)
        self.assertEqual((waiting.state, waiting.next_attempt_at), ("pending", due))
        self.assertEqual(dead.state, "dead")

    def test_delivery_screens(self):
        """The record of a delivery and the deliveries of its trace open for
        those who may read deliveries only: the trace and the record's model
        and id are not for everyone."""
        partner = self.env["res.partner"].create({"name": "Traced"})
        delivery = self.enqueue(
            self.make_endpoint("/ok"),
            {"_model": "res.partner", "_id": partner.id, "_action": "test"},
        )
        delivery.write({"res_model": "res.partner", "res_id": partner.id})
        for method in ("action_open_record", "action_open_same_trace"):
            # Nothing read earlier may answer from the cache.
            self.env.invalidate_all()
            self.assertRefused(self.outsiders, delivery, method)
        action = delivery.with_user(self.manager).action_open_record()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("res.partner", partner.id)
        )
        self.assertEqual(
            delivery.with_user(self.manager).action_open_same_trace()["domain"],
            [("trace_id", "=", delivery.trace_id)],
        )

    def test_replay(self):
        endpoint = self.make_endpoint("/ok")
        dead = self.enqueue(endpoint)
        dead.state = "dead"
        wizard = self.env["integration.webhook.replay"].create(
            {"endpoint_id": endpoint.id, "since": "2000-01-01 00:00:00"}
        )
        self.assertRefused(self.outsiders, wizard, "action_replay")
        self.assertEqual(dead.state, "dead")

    def test_validator_actions(self):
        validator = self.env["integration.webhook.validator"].create({"name": "V"})
        for method in (
            "action_view_automations",
            "action_view_rejections",
            "action_view_messages",
        ):
            self.assertRefused(self.outsiders, validator, method)

    def test_key_issuing_is_for_system_administrators(self):
        policy = self.env["integration.api.policy"].create({"name": "Read only"})
        wizard = self.env["integration.api.key.wizard"].create(
            {"user_id": self.employee.id, "name": "ERP", "policy_id": policy.id}
        )
        users = (*self.outsiders, self.manager)
        self.assertRefused(users, policy, "action_issue_key")
        # Refused before the identity check is even offered.
        self.assertRefused(users, wizard, "action_issue_key")
        self.assertFalse(
            self.env["res.users.apikeys"].search([("user_id", "=", self.employee.id)])
        )

    def test_settings_are_saved_by_system_administrators_only(self):
        crons = self.env["ir.cron"].with_context(active_test=False).search([])
        active = crons.filtered("active")
        users = (*self.outsiders, self.manager)
        self.assertRefused(users, self.env["res.config.settings"], "set_values")
        self.assertEqual(crons.filtered("active"), active)

    def test_validator_of_an_automation_is_chosen_by_system_administrators(self):
        """Choosing or removing an automation's validator weakens the
        automation: automations are for system administrators only."""
        validator = self.env["integration.webhook.validator"].create({"name": "V"})
        automation = self.env["base.automation"].create(
            {
                "name": "Webhook",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "trigger": "on_webhook",
                "webhook_validator_id": validator.id,
            }
        )
        with self.assertRaises(AccessError):
            automation.with_user(self.manager).webhook_validator_id = False
        with self.assertRaises(AccessError):
            validator.with_user(self.manager).automation_ids = False
        self.assertEqual(automation.webhook_validator_id, validator)

    def test_a_copy_does_not_carry_the_administrators_settings_elsewhere(self):
        """Duplicating an endpoint towards another URL would keep its extra
        headers and private-network permission: a manager cannot read them,
        so cannot copy them."""
        endpoint = self.make_endpoint("/ok", headers=json.dumps(ADMIN_HEADERS))
        with self.assertRaises(AccessError):
            endpoint.with_user(self.manager).copy({"url": "http://10.0.0.5/hook"})
        self.assertEqual(
            self.Endpoint.search_count([("url", "=", "http://10.0.0.5/hook")]), 0
        )
