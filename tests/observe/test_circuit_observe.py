"""The delivery engine's circuit breaker as monitoring sees it: the circuit
state gauge of each endpoint, and the alert an open circuit raises."""

from prometheus_client.parser import text_string_to_metric_families

from odoo.tests import tagged

from odoo.addons.integration_gateway.tests.common import WebhookCase

GAUGE = "odoo_integration_webhook_endpoint_circuit_state"


@tagged("post_install", "-at_install")
class TestCircuitObserved(WebhookCase):
    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.circuit_failure_threshold", 2
        )
        self.down = self.make_endpoint("/status/500", retry_schedule="1h,1h")
        self.up = self.make_endpoint("/ok")
        for seq in range(4):
            self.enqueue(self.down, {"_id": seq, "seq": seq})
        self.enqueue(self.up)
        # Two failures in a row: the circuit of the endpoint that is down
        # opens; the other's stays closed.
        self.dispatch()
        self.assertEqual(self.down.circuit_state, "open")
        self.assertEqual(self.up.circuit_state, "closed")

    def _gauge(self):
        body, _kind = self.env["integration.metrics"]._render()
        states = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == GAUGE and sample.value == 1:
                    states[int(sample.labels["endpoint_id"])] = sample.labels["state"]
        return states

    def test_the_gauge_tells_each_endpoints_circuit_state(self):
        states = self._gauge()
        self.assertEqual(states[self.down.id], "open")
        self.assertEqual(states[self.up.id], "closed")
        self.down.action_close_circuit()
        self.assertEqual(self._gauge()[self.down.id], "closed")

    def test_an_open_circuit_raises_the_failing_alert(self):
        # Not failing for long yet and no old backlog: only the circuit says
        # the endpoint fails.
        self.env["integration.webhook.endpoint"]._cron_check_alerts()
        self.assertEqual(self.down.alert_state, "failing")
        self.assertFalse(self.up.alert_state)
        self.down.action_close_circuit()
        self.down.sudo().write({"failing_since": False, "consecutive_failures": 0})
        self.env["integration.webhook.endpoint"]._cron_check_alerts()
        self.assertFalse(self.down.alert_state)
