"""W3C trace context end to end: an incoming webhook carrying
``traceparent`` runs an automation that queues a webhook; the receiver
gets the same trace id with a span of its own. Over HTTP because the
trace comes from the incoming request's headers."""

import json

from odoo.tests import HttpCase, tagged

from odoo.addons.integration_gateway.lib import trace_context
from odoo.addons.integration_gateway.tests.common import run_dispatcher
from odoo.addons.integration_gateway.tests.webhook_receiver import WebhookReceiver

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


@tagged("post_install", "-at_install")
class TestTraceContext(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = WebhookReceiver().start()
        cls.addClassCleanup(cls.receiver.stop)
        partner_model = cls.env["ir.model"]._get("res.partner")
        cls.partner = cls.env["res.partner"].create({"name": "Acme", "ref": "T-1"})
        cls.validator = cls.env["integration.webhook.validator"].create(
            {
                "name": "Shop",
                "signature_scheme": "none",
                "message_id_header": "X-Message-Id",
            }
        )
        cls.automation = cls.env["base.automation"].create(
            {
                "name": "Order in, warehouse told",
                "model_id": partner_model.id,
                "trigger": "on_webhook",
                "record_getter": "model.search([('ref', '=', payload.get('ref'))])",
                "webhook_validator_id": cls.validator.id,
            }
        )
        action = cls.env["ir.actions.server"].create(
            {
                "name": "Tell the warehouse",
                "model_id": partner_model.id,
                "base_automation_id": cls.automation.id,
                "usage": "base_automation",
                "state": "webhook",
                "webhook_url": cls.receiver.url("/ok"),
            }
        )
        cls.automation.action_server_ids = action
        cls.endpoint = action.webhook_endpoint_id
        cls.endpoint.sudo().allow_private_network = True

    def setUp(self):
        super().setUp()
        self.receiver.clear()

    def _call(self, headers):
        headers = {"X-Message-Id": f"msg-{self.id()}-{len(headers)}", **headers}
        return self.url_open(
            f"/web/hook/{self.automation.webhook_uuid}",
            data=json.dumps({"ref": "T-1"}),
            headers={"Content-Type": "application/json", **headers},
        )

    def _delivery(self):
        return self.env["integration.webhook.delivery"].search(
            [("endpoint_id", "=", self.endpoint.id)], limit=1
        )

    def test_trace_goes_from_the_incoming_call_to_the_receiver(self):
        response = self._call({"traceparent": f"00-{TRACE}-{SPAN}-01"})
        self.assertEqual(response.status_code, 200, response.text)
        delivery = self._delivery()
        self.assertEqual(
            (delivery.trace_id, delivery.parent_span_id), (TRACE, SPAN), delivery
        )
        self.assertEqual(delivery.origin_kind, "incoming_webhook")
        self.assertEqual(delivery.origin_automation_id, self.automation)
        self.assertEqual(delivery.origin_message_id.message_id, f"msg-{self.id()}-1")
        self.assertEqual(self.automation.webhook_delivery_count, 1)
        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        trace_id, span_id = trace_context.parse(received.traceparent)
        self.assertEqual(trace_id, TRACE)
        self.assertNotEqual(span_id, SPAN, "an attempt is a span of its own")

    def test_a_call_without_trace_starts_one(self):
        response = self._call({"traceparent": "00-garbage-01"})
        self.assertEqual(response.status_code, 200, response.text)
        delivery = self._delivery()
        self.assertEqual(len(delivery.trace_id), 32)
        self.assertNotEqual(delivery.trace_id, TRACE)
        self.assertFalse(delivery.parent_span_id)
        run_dispatcher(self)
        [received] = self.receiver.wait_for(1)
        self.assertEqual(
            trace_context.parse(received.traceparent)[0], delivery.trace_id
        )
