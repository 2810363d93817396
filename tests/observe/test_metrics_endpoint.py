"""GET /integration/metrics over the real server: who may read it, and
that what it serves parses (prometheus_client's parsers, and promtool
where Debian's prometheus package provides it) and matches the database.

HTTP tests because the route's authentication (static token, API keys and
their policies, sessions) is the point."""

import shutil
import subprocess
from datetime import timedelta

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.integration_gateway.plumbing import own_cursor
from odoo.addons.integration_gateway.tests.common import ApiKeyMixin

TOKEN = "metrics-scraper-token-0123456789"
PREFIX = "odoo_integration_"


def samples(text, parser=text_string_to_metric_families):
    """``{(sample name, frozenset of labels): value}`` of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser(text)
        for sample in family.samples
    }


@tagged("post_install", "-at_install")
class TestMetricsEndpoint(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.metrics_token", TOKEN
        )
        Endpoint = cls.env["integration.webhook.endpoint"]
        cls.shop = Endpoint.create(
            {"name": "Shop", "url": "https://shop.example.com/h"}
        )
        cls.crm = Endpoint.create({"name": "CRM", "url": "https://crm.example.com/h"})
        Delivery = cls.env["integration.webhook.delivery"].sudo()
        now = fields.Datetime.now()
        rows = [
            (cls.shop, "pending", 3),
            (cls.shop, "retrying", 2),
            (cls.shop, "dead", 1),
            (cls.shop, "delivered", 4),
            (cls.crm, "pending", 1),
        ]
        for endpoint, state, count in rows:
            Delivery.create(
                [
                    {"endpoint_id": endpoint.id, "payload": "{}", "state": state}
                    for _n in range(count)
                ]
            )
        # The oldest waiting delivery of the shop: two hours old.
        cls.env.flush_all()
        cls.env.cr.execute(
            "UPDATE integration_webhook_delivery SET create_date = %s WHERE id ="
            " (SELECT min(id) FROM integration_webhook_delivery"
            "   WHERE endpoint_id = %s AND state = 'pending')",
            [now - timedelta(hours=2), cls.shop.id],
        )
        cls.env["integration.metrics"]._count_attempts(
            [
                (cls.shop.id, 200, 40),
                (cls.shop.id, 503, 700),
                (cls.shop.id, None, 15000),
            ]
        )
        cls.manager = new_test_user(
            cls.env,
            "metrics_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        cls.clerk = new_test_user(cls.env, "metrics_clerk", groups="base.group_user")
        Policy = cls.env["integration.api.policy"]
        cls.scraper_policy = Policy.create(
            {
                "name": "Prometheus",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "model_pattern": "integration.metrics",
                            "method_pattern": "read",
                            "effect": "allow",
                        },
                    )
                ],
            }
        )
        cls.other_policy = Policy.create(
            {
                "name": "Partners only",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "model_pattern": "res.partner",
                            "method_pattern": "*",
                            "effect": "allow",
                        },
                    )
                ],
            }
        )

    def setUp(self):
        super().setUp()
        self.validator = self.env["integration.webhook.validator"].create(
            {
                "name": "Shop orders",
                "signature_scheme": "none",
                "replay_protection": False,
            }
        )
        Metrics = self.env["integration.metrics"]
        # In the test's transaction (the server shares it): what _count
        # commits on its own connection is not in the test's snapshot.
        for query in (
            Metrics._count_query("incoming_accepted", self.validator.id, "", None, 5),
            Metrics._count_query(
                "incoming_rejected", self.validator.id, "signature", None, 2
            ),
        ):
            self.env.cr.execute(*query)

    def test_counted_on_a_connection_of_its_own(self):
        Metrics = self.env["integration.metrics"]
        ref = self.validator.id
        self.addCleanup(self._forget_counters, ref)
        Metrics._count("incoming_rejected", ref, "schema", "Shop orders")
        Metrics._count("incoming_rejected", ref, "schema", "Shop orders", amount=2)
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "SELECT value FROM integration_metrics_counter"
                " WHERE series = 'incoming_rejected' AND ref = %s AND label = 'schema'",
                [ref],
            )
            self.assertEqual(cr.fetchall(), [(3,)])

    def _forget_counters(self, ref):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_metrics_counter WHERE ref = %s"
                " AND series LIKE 'incoming_%%'",
                [ref],
            )

    def scrape(self, token=TOKEN, accept=None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if accept:
            headers["Accept"] = accept
        return self.url_open("/integration/metrics", headers=headers)

    def test_values_match_the_database(self):
        _token, key = self.issue_key(self.clerk, name="BI dashboard")
        today = fields.Date.today()
        self.env["integration.api.usage"].sudo().create(
            [
                {
                    "date": today - timedelta(days=1),
                    "key_id": key.id,
                    "key_name": key.name,
                    "calls": 10,
                    "rate_limited": 2,
                    "denied": 0,
                },
                {
                    "date": today,
                    "key_id": key.id,
                    "key_name": key.name,
                    "calls": 5,
                    "rate_limited": 0,
                    "denied": 1,
                },
            ]
        )
        response = self.scrape()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain"))
        values = samples(response.text)
        shop = {("endpoint_id", str(self.shop.id)), ("endpoint", "Shop")}
        crm = {("endpoint_id", str(self.crm.id)), ("endpoint", "CRM")}

        def value(name, labels, **more):
            return values.get((PREFIX + name, frozenset(labels | set(more.items()))))

        for labels, state, count in [
            (shop, "pending", 3),
            (shop, "retrying", 2),
            (shop, "dead", 1),
            (crm, "pending", 1),
        ]:
            self.assertEqual(value("webhook_deliveries", labels, state=state), count)
        self.assertIsNone(value("webhook_deliveries", shop, state="delivered"))
        age = value("webhook_oldest_waiting_seconds", shop)
        self.assertTrue(7100 < age < 7400, age)
        self.assertLess(value("webhook_oldest_waiting_seconds", crm), 600)
        self.assertEqual(value("webhook_attempts_total", shop, status_class="2xx"), 1)
        self.assertEqual(value("webhook_attempts_total", shop, status_class="5xx"), 1)
        self.assertEqual(value("webhook_attempts_total", shop, status_class="error"), 1)
        self.assertEqual(value("webhook_attempt_duration_seconds_count", shop), 3)
        self.assertAlmostEqual(
            value("webhook_attempt_duration_seconds_sum", shop), 15.74
        )
        self.assertEqual(
            value("webhook_attempt_duration_seconds_bucket", shop, le="0.05"), 1
        )
        self.assertEqual(
            value("webhook_attempt_duration_seconds_bucket", shop, le="1.0"), 2
        )
        self.assertEqual(
            value("webhook_attempt_duration_seconds_bucket", shop, le="+Inf"), 3
        )
        bi = {("key_id", str(key.id)), ("key", "BI dashboard")}
        self.assertEqual(value("api_calls_total", bi), 15)
        self.assertEqual(value("api_rate_limited_total", bi), 2)
        self.assertEqual(value("api_denied_total", bi), 1)
        validator = {
            ("validator_id", str(self.validator.id)),
            ("validator", "Shop orders"),
        }
        self.assertEqual(value("incoming_accepted_total", validator), 5)
        self.assertEqual(
            value("incoming_rejected_total", validator, reason="signature"), 2
        )

    def test_openmetrics_when_asked(self):
        response = self.scrape(accept="application/openmetrics-text; version=1.0.0")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(
            response.headers["Content-Type"].startswith("application/openmetrics-text")
        )
        values = samples(response.text, openmetrics_families)
        key = (
            PREFIX + "webhook_attempts_total",
            frozenset(
                {
                    ("endpoint_id", str(self.shop.id)),
                    ("endpoint", "Shop"),
                    ("status_class", "2xx"),
                }
            ),
        )
        self.assertEqual(values[key], 1)

    def test_promtool_accepts_it(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool (Debian's prometheus package) is not installed")
        text = self.scrape().text
        check = subprocess.run(  # noqa: S603 (promtool found on PATH)
            [promtool, "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            check=False,
        )
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_who_may_scrape(self):
        self.assertEqual(self.scrape(token=None).status_code, 401)
        self.assertEqual(self.scrape(token="not-the-token").status_code, 401)
        token, _key = self.issue_key(self.clerk, name="clerk")
        self.assertEqual(self.scrape(token=token).status_code, 403)
        token, _key = self.issue_key(self.clerk, self.other_policy, name="other")
        self.assertEqual(self.scrape(token=token).status_code, 403)
        token, _key = self.issue_key(self.clerk, self.scraper_policy, name="scraper")
        response = self.scrape(token=token)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn(PREFIX + "webhook_deliveries", response.text)
        token, _key = self.issue_key(self.manager, name="manager")
        self.assertEqual(self.scrape(token=token).status_code, 200)
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.metrics_token", False
        )
        self.assertEqual(self.scrape().status_code, 401, "no token set: none works")
