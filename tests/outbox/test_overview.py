"""The Integrations overview: each endpoint's health over the last 24 hours,
from attempts really sent to a receiver on 127.0.0.1."""

from datetime import timedelta

from odoo import fields
from odoo.tests import new_test_user, tagged

from ..common import WebhookCase


@tagged("post_install", "-at_install")
class TestOverview(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_overview_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )

    def sent(self, endpoint, count):
        """Queues ``count`` deliveries to ``endpoint`` and sends them once."""
        deliveries = self.Delivery.browse()
        for _i in range(count):
            deliveries |= self.enqueue(endpoint)
        self.dispatch()
        return deliveries

    def test_figures_of_the_last_24_hours(self):
        good = self.make_endpoint("/ok")
        bad = self.make_endpoint("/status/500")
        self.sent(good, 3)
        failed = self.sent(bad, 2)
        # One attempt of the good endpoint is older than the window.
        old = good.delivery_ids[:1].attempt_ids
        old.flush_recordset()
        self.env.cr.execute(
            "UPDATE integration_webhook_attempt SET started_at = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(hours=25), old.id],
        )
        self.env.invalidate_all()

        endpoints = (good | bad).with_user(self.manager)
        self.assertEqual(good.attempt_count_24h, 2)
        self.assertEqual(good.success_rate_24h, 1.0)
        self.assertEqual(bad.attempt_count_24h, 2)
        self.assertEqual(bad.success_rate_24h, 0.0)
        self.assertEqual(bad.waiting_count, 2, "both failed deliveries are retrying")
        self.assertEqual(set(failed.mapped("state")), {"retrying"})
        durations = bad.delivery_ids.attempt_ids.mapped("duration_ms")
        self.assertEqual(bad.latency_p95_24h, max(durations))
        self.assertEqual(
            endpoints.mapped("health"), ["healthy", "failing"], "ordered by name"
        )
        self.assertEqual(endpoints.mapped("health_color"), [10, 2])

    def test_test_events_do_not_count(self):
        endpoint = self.make_endpoint("/status/503")
        endpoint.action_send_test_event()
        self.assertEqual(len(endpoint.delivery_ids.attempt_ids), 1)
        self.assertEqual(endpoint.attempt_count_24h, 0)
        self.assertEqual(endpoint.success_rate_24h, 0.0)

    def test_one_query_for_all_endpoints_on_screen(self):
        endpoints = self.Endpoint.browse()
        for path in ("/ok", "/status/500", "/status/404", "/ok?again"):
            endpoints |= self.make_endpoint(path)
            self.sent(endpoints[-1], 1)
        self.env.invalidate_all()
        with self.assertQueryCount(1):
            figures = endpoints.mapped(
                lambda e: (e.attempt_count_24h, e.success_rate_24h, e.latency_p95_24h)
            )
        self.assertEqual([count for count, _rate, _p95 in figures], [1, 1, 1, 1])
        self.assertEqual(
            sorted(rate for _count, rate, _p95 in figures), [0.0, 0.0, 1.0, 1.0]
        )

    def test_overview_opens_for_a_manager(self):
        endpoint = self.make_endpoint("/ok")
        self.sent(endpoint, 1)
        action = self.env.ref("integration_gateway.action_integration_overview")
        self.assertEqual(action.view_mode.split(",")[0], "kanban")
        menu = self.env.ref("integration_gateway.menu_integration_overview")
        self.assertEqual(menu.sequence, 1)
        Endpoint = self.Endpoint.with_user(self.manager)
        views = Endpoint.get_views([(action.view_id.id, "kanban")])
        arch = views["views"]["kanban"]["arch"]
        for name in ("success_rate_24h", "latency_p95_24h", "waiting_count"):
            self.assertIn(f'name="{name}"', arch)
        # What the kanban reads, in one request for every card.
        records = Endpoint.web_search_read(
            [("id", "=", endpoint.id)],
            {
                name: {}
                for name in (
                    "name",
                    "health",
                    "health_color",
                    "attempt_count_24h",
                    "success_rate_24h",
                    "latency_p95_24h",
                    "waiting_count",
                    "dead_count",
                )
            },
        )["records"]
        self.assertEqual(records[0]["attempt_count_24h"], 1)
        self.assertEqual(records[0]["success_rate_24h"], 1.0)

        report = endpoint.with_user(self.manager).action_open_delivery_report()
        self.assertEqual(report["views"][0][1], "graph")
        self.assertEqual(report["domain"], [("endpoint_id", "=", endpoint.id)])
        attempts = endpoint.with_user(self.manager).action_open_attempts()
        self.assertEqual(
            self.env["integration.webhook.attempt"].search(attempts["domain"]),
            endpoint.delivery_ids.attempt_ids,
        )
