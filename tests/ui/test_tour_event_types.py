"""Event types clicked through in a real browser: an automation's queued
webhook gets its event type when saved, an endpoint subscribes to it with a
filter, a test event of the type reaches the receiver, and the delivery
shows its type."""

import json

from odoo.tests import HttpCase, new_test_user, tagged

from ..common import run_dispatcher
from ..webhook_receiver import WebhookReceiver


@tagged("post_install", "-at_install")
class TestEventTypeTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)

    def test_event_type_subscription_and_test_event(self):
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.tour_receiver_url", self.receiver.url("")
        )
        self.start_tour(
            "/odoo/action-base_automation.base_automation_act?debug=1",
            "integration_gateway_event_type_from_automation",
            login="admin",
            timeout=120,
        )
        rule = self.env["base.automation"].search(
            [("name", "=", "New contacts to the carrier")]
        )
        event_type = rule.action_server_ids.webhook_event_type_id
        self.assertEqual(event_type.name, "res.partner.created")

        # An Integration Manager (who may not read server actions) names it.
        new_test_user(
            self.env,
            login="ig_event_manager",
            password="ig_event_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        self.start_tour(
            "/odoo/action-integration_gateway.integration_webhook_event_type_action/"
            f"{event_type.id}?debug=1",
            "integration_gateway_event_type_form",
            login="ig_event_manager",
            timeout=120,
        )
        self.assertEqual(event_type.name, "res.partner.registered")
        self.assertEqual(event_type.description, "A contact was created.")

        carrier = self.env["integration.webhook.endpoint"].create(
            {
                "name": "Carrier",
                "url": self.receiver.url("/carrier-feed"),
                "allow_private_network": True,
                "payload_format": "standard",
            }
        )
        self.start_tour(
            "/odoo/action-integration_gateway.integration_webhook_endpoint_action/"
            f"{carrier.id}?debug=1",
            "integration_gateway_event_subscription",
            login="admin",
            timeout=120,
        )
        [subscription] = carrier.subscription_ids
        self.assertEqual(subscription.event_type_id, event_type)
        self.assertEqual(subscription._parsed_domain(), [("is_company", "=", True)])
        [test_event] = self.receiver.wait_for(1)
        envelope = json.loads(test_event.body)
        self.assertEqual(envelope["type"], "res.partner.registered")
        self.assertEqual(envelope["data"]["_model"], "res.partner")
        self.assertTrue(carrier.delivery_ids.filtered("is_test").event_type_id)

        # From now on, new companies reach the carrier; people do not.
        company = self.env["res.partner"].create({"name": "Azure", "is_company": True})
        person = self.env["res.partner"].create({"name": "Ann"})
        deliveries = carrier.delivery_ids.filtered(lambda d: not d.is_test)
        self.assertEqual(deliveries.mapped("res_id"), [company.id])
        self.assertNotIn(person.id, deliveries.mapped("res_id"))
        run_dispatcher(self)
        self.assertEqual(deliveries.state, "delivered")
