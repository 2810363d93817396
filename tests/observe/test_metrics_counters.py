"""The attempt counters the dispatchers maintain: they count what was
sent, the compaction changes no sum, and retention never makes them go
back."""

from contextlib import contextmanager
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_gateway.plumbing import own_cursor
from odoo.addons.integration_gateway.tests.common import WebhookCase

LIMITER_LOGGER = "odoo.addons.integration_gateway.models.integration_rate_limiter"


@tagged("post_install", "-at_install")
class TestMetricsCounters(WebhookCase):
    def _attempt_totals(self, endpoint):
        body, _kind = self.env["integration.metrics"]._render()
        totals = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.labels.get("endpoint_id") != str(endpoint.id):
                    continue
                key = (sample.name, sample.labels.get("status_class"))
                if sample.name.endswith(("_total", "_count")):
                    totals[key] = sample.value
        return totals

    def test_counters_survive_compaction_and_retention(self):
        ok, failing = self.make_endpoint("/ok"), self.make_endpoint("/status/500")
        for _n in range(3):
            self.enqueue(ok)
        self.enqueue(failing)
        self.dispatch()
        self.receiver.wait_for(4)
        attempts = self.env["integration.webhook.attempt"].search(
            [("endpoint_id", "in", (ok | failing).ids)]
        )
        self.assertEqual(len(attempts), 4)
        before = self._attempt_totals(ok) | self._attempt_totals(failing)
        self.assertEqual(before[("odoo_integration_webhook_attempts_total", "2xx")], 3)
        self.assertEqual(
            self._attempt_totals(failing)[
                ("odoo_integration_webhook_attempts_total", "5xx")
            ],
            1,
        )
        self.assertEqual(
            self._attempt_totals(ok)[
                ("odoo_integration_webhook_attempt_duration_seconds_count", None)
            ],
            3,
        )
        folded = self.env["integration.metrics"]._compact()
        self.assertGreaterEqual(folded, 2)
        self.assertEqual(
            self._attempt_totals(ok) | self._attempt_totals(failing), before
        )
        # Retention removes the delivered webhooks and every attempt.
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.retention_days", "1"
        )
        old = fields.Datetime.now() - timedelta(days=3)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE integration_webhook_attempt SET started_at = %s WHERE id = ANY(%s)",
            [old, attempts.ids],
        )
        self.env.cr.execute(
            "UPDATE integration_webhook_delivery SET delivered_at = %s"
            " WHERE endpoint_id = %s",
            [old, ok.id],
        )
        self.enqueue(ok)
        self.dispatch()
        self.env["integration.webhook.delivery"]._gc_delivered()
        self.assertFalse(attempts.exists(), "retention kept the old attempts")
        after = self._attempt_totals(ok) | self._attempt_totals(failing)
        for key, value in before.items():
            self.assertGreaterEqual(after[key], value, key)
        self.assertEqual(after[("odoo_integration_webhook_attempts_total", "2xx")], 4)

    def test_rate_limit_backend_errors_are_counted(self):
        def errors():
            with own_cursor(self.env.cr.dbname) as cr:
                cr.execute(
                    "SELECT COALESCE(sum(value), 0) FROM integration_metrics_counter"
                    " WHERE series = 'rate_limit_backend_errors'"
                )
                return cr.fetchone()[0]

        before = errors()
        params = self.env["ir.config_parameter"].sudo()
        # Nothing listens there: a Redis that is down.
        params.set_param("integration_gateway.redis_url", "redis://127.0.0.1:18399/7")
        params.set_param("integration_gateway.redis_failure_mode", "open")
        limiter = self.env["integration.rate.limiter"]
        with self.assertLogs(LIMITER_LOGGER, "WARNING"):
            self.assertIsNone(limiter._hit("test-metrics:a", "3/minute"))
            self.assertFalse(limiter._count("test-metrics:a", "calls"))
        self.assertEqual(errors(), before + 2)


@tagged("post_install", "-at_install")
class TestConcurrentCompaction(TransactionCase):
    """The cron and the autovacuum fold the attempt counters at the same
    time, each on a transaction of its own."""

    def setUp(self):
        super().setUp()
        with self._committed() as env:
            self.endpoint_id = (
                env["integration.webhook.endpoint"]
                .create({"name": "Folded twice", "url": "https://example.com/hook"})
                .id
            )
            # Two batches of the dispatchers: two rows to fold.
            for duration in (10, 30):
                env["integration.metrics"]._count_attempts(
                    [(self.endpoint_id, 200, duration)]
                )
        self.addCleanup(self._delete_endpoint)

    @contextmanager
    def _committed(self):
        with sql_db.db_connect(self.env.cr.dbname).cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _delete_endpoint(self):
        with self._committed() as env:
            env.cr.execute(
                "DELETE FROM integration_metrics_attempt_count WHERE endpoint_id = %s",
                [self.endpoint_id],
            )
            env.cr.execute(
                "DELETE FROM integration_webhook_endpoint WHERE id = %s",
                [self.endpoint_id],
            )

    def _rows(self, env):
        env.cr.execute(
            "SELECT attempts, compacted FROM integration_metrics_attempt_count"
            " WHERE endpoint_id = %s",
            [self.endpoint_id],
        )
        return env.cr.fetchall()

    def test_second_compaction_leaves_the_rows_to_the_first(self):
        with self._committed() as second:
            # Its snapshot is taken before the first one commits.
            self.assertEqual(len(self._rows(second)), 2)
            with self._committed() as first:
                self.assertGreaterEqual(first["integration.metrics"]._compact(), 2)
            # Not an error in the log: nothing went wrong.
            with self.assertNoLogs("odoo.sql_db", "ERROR"):
                self.assertEqual(second["integration.metrics"]._compact(), 0)
            # Its transaction goes on.
            self.assertEqual(len(self._rows(second)), 2)
        with self._committed() as after:
            self.assertEqual(self._rows(after), [(2, True)])
