import json

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..common import make_due, run_dispatcher
from ..webhook_receiver import WebhookReceiver


@tagged("post_install", "-at_install")
class TestIntegrationTours(HttpCase):
    """The Integrations screens open in a real browser."""

    def test_open_integrations_menu(self):
        self.start_tour("/odoo?debug=1", "integration_gateway_open_menu", login="admin")

    def test_api_policy_screen(self):
        """A policy with a rule is made and saved from its screen."""
        self.start_tour(
            "/odoo/action-integration_gateway.action_integration_api_policy?debug=1",
            "integration_gateway_api_policy",
            login="admin",
        )
        policy = self.env["integration.api.policy"].search(
            [("name", "=", "Tour partners")]
        )
        self.assertTrue(policy.read_only)
        self.assertEqual(
            [(r.model_pattern, r.method_pattern, r.effect) for r in policy.rule_ids],
            [("res.partner*", "read, search_*", "allow")],
        )

    def test_webhook_endpoint_screen(self):
        """An endpoint is edited and sends a test event from its screen."""
        with WebhookReceiver() as receiver:
            endpoint = self.env["integration.webhook.endpoint"].create(
                {
                    "name": "Tour receiver",
                    "url": receiver.url("/ok"),
                    "allow_private_network": True,
                }
            )
            self.start_tour(
                "/odoo/action-integration_gateway.integration_webhook_endpoint_action"
                "?debug=1",
                "integration_gateway_webhook_endpoint",
                login="admin",
            )
            self.assertEqual(endpoint.timeout, 5)
            got = receiver.wait_for(1)[0]
        self.assertEqual(json.loads(got.body)["_test"], True)

    def test_history_screens(self):
        """Attempts (list, graph, pivot), the replay of an endpoint's dead
        deliveries, and refused incoming calls (list, pivot)."""
        with WebhookReceiver() as receiver:
            endpoint = self.env["integration.webhook.endpoint"].create(
                {
                    "name": "Tour history",
                    "url": receiver.url("/status/500"),
                    "allow_private_network": True,
                    "retry_schedule": "1s",
                }
            )
            delivery = self.env["integration.webhook.delivery"]._enqueue(
                endpoint, json.dumps({"_model": "res.partner", "_id": 1})
            )
            for _attempt in range(2):
                make_due(delivery)
                run_dispatcher(self)
            self.assertEqual(delivery.state, "dead")
        self.env["integration.webhook.rejection"].create(
            {
                "received_at": fields.Datetime.now(),
                "reason": "signature",
                "status_code": 401,
                "message": "no valid signature",
                "remote_addr": "203.0.113.7",
            }
        )
        self.start_tour(
            "/odoo/action-integration_gateway.integration_webhook_attempt_action"
            "?debug=1",
            "integration_gateway_history",
            login="admin",
        )
        self.assertRecordValues(delivery, [{"state": "pending", "attempt_count": 0}])
