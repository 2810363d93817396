import uuid

import redis
from werkzeug.exceptions import ServiceUnavailable

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_gateway.exceptions import RateLimiterUnavailable
from odoo.addons.integration_gateway.lib import ratelimit
from odoo.addons.integration_gateway.plumbing import own_cursor

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
# Nothing listens there: a Redis that is down.
DEAD_REDIS = "redis://127.0.0.1:18399/%d"
LIMITER_LOGGER = "odoo.addons.integration_gateway.models.integration_rate_limiter"


class CallerFailed(Exception):
    """The transaction of the code calling the limiter fails after the hit."""


@tagged("post_install", "-at_install")
class TestRateLimiter(TransactionCase):
    """integration.rate.limiter: the storage follows the settings, counters
    are committed on a connection of their own, and an unreachable Redis
    gets the configured answer, logged."""

    def setUp(self):
        super().setUp()
        self.limiter = self.env["integration.rate.limiter"]
        self.params = self.env["ir.config_parameter"].sudo()
        self.prefix = f"test-{uuid.uuid4().hex[:12]}:"
        self.addCleanup(self._forget_postgres_windows)

    def _forget_postgres_windows(self):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter WHERE key LIKE %s",
                (self.prefix + "%",),
            )

    def _postgres_keys(self):
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "SELECT key FROM integration_rate_limit_counter WHERE key LIKE %s",
                (self.prefix + "%",),
            )
            return {key for (key,) in cr.fetchall()}

    def test_postgres_counters_survive_the_callers_rollback(self):
        key = self.prefix + "a"
        with self.assertRaises(CallerFailed), self.env.cr.savepoint():
            self.assertTrue(self.limiter._hit(key, "2/minute").allowed)
            raise CallerFailed()
        second = self.limiter._hit(key, "2/minute")
        self.assertTrue(second.allowed)
        self.assertEqual(second.remaining, 0)
        refused = self.limiter._hit(key, "2/minute")
        self.assertFalse(refused.allowed)
        self.assertGreater(refused.retry_after, 55)
        # Committed for every other connection to see.
        self.assertEqual(self._postgres_keys(), {key})

    def test_peek_and_parsed_limits(self):
        key = self.prefix + "b"
        limits = ratelimit.parse_limits("1/hour")
        self.assertTrue(self.limiter._peek(key, limits).allowed)
        self.assertEqual(self._postgres_keys(), set())
        self.limiter._hit(key, limits)
        self.assertFalse(self.limiter._peek(key, limits).allowed)

    def test_nothing_to_decide_without_a_limit(self):
        self.assertIsNone(self.limiter._hit(self.prefix + "c", ""))
        self.assertIsNone(self.limiter._peek(self.prefix + "c", ()))
        with self.assertRaisesRegex(ValueError, "not a rate limit"):
            self.limiter._hit(self.prefix + "c", "often")

    def test_redis_when_its_url_is_set(self):
        self.params.set_param("integration_gateway.redis_url", LOCAL_REDIS)
        client = redis.Redis.from_url(LOCAL_REDIS)
        namespace = f"integration_gateway:{self.params.get_param('database.uuid')}:"
        window = f"{namespace}rl:{{{self.prefix}d}}:60"
        self.addCleanup(client.close)
        self.addCleanup(client.delete, window)
        for _ in range(3):
            self.limiter._hit(self.prefix + "d", "3/minute")
        self.assertFalse(self.limiter._hit(self.prefix + "d", "3/minute").allowed)
        self.assertEqual(
            sum(int(c) for f, c in client.hgetall(window).items() if f != b"x"), 3
        )
        self.assertEqual(self._postgres_keys(), set())

    def test_unreachable_redis_refuses_by_default(self):
        self.params.set_param("integration_gateway.redis_url", DEAD_REDIS % 0)
        with (
            self.assertLogs(LIMITER_LOGGER, "WARNING") as logs,
            self.assertRaises(RateLimiterUnavailable) as caught,
        ):
            self.limiter._hit(self.prefix + "e", "3/minute")
        self.assertIn("unreachable", logs.output[0])
        self.assertIn("calls refused (503)", logs.output[0])
        self.assertIsInstance(caught.exception, ServiceUnavailable)
        self.assertEqual(caught.exception.code, 503)
        self.assertIn(("Retry-After", "5"), caught.exception.get_headers())

    def test_unreachable_redis_lets_calls_through_when_open(self):
        self.params.set_param("integration_gateway.redis_url", DEAD_REDIS % 1)
        self.params.set_param("integration_gateway.redis_failure_mode", "open")
        with self.assertLogs(LIMITER_LOGGER, "WARNING") as logs:
            self.assertIsNone(self.limiter._hit(self.prefix + "f", "3/minute"))
            self.assertIsNone(self.limiter._hit(self.prefix + "f", "3/minute"))
            self.assertFalse(self.limiter._count(self.prefix + "f", "calls"))
            self.assertFalse(self.limiter._count(self.prefix + "f", "calls"))
        # Each consequence once per minute, not once per call.
        self.assertEqual(len(logs.output), 2, logs.output)
        self.assertIn("let through without a limit", logs.output[0])
        self.assertIn("redis://127.0.0.1:18399/1", logs.output[0])
        self.assertIn("usage not counted", logs.output[1])

    def test_autovacuum_removes_expired_windows(self):
        storage = ratelimit.PostgresStorage(lambda: own_cursor(self.env.cr.dbname))
        old, fresh = self.prefix + "old", self.prefix + "fresh"
        storage.hit(old, ratelimit.parse_limits("5/minute"), now=1_000_000_000.0)
        storage.hit(fresh, ratelimit.parse_limits("5/minute"))
        # The windows were committed by another connection, which this test's
        # transaction does not see; the clean-up runs on a cursor that does.
        with own_cursor(self.env.cr.dbname) as cr:
            self.env(cr=cr)["integration.rate.limiter"]._gc_rate_limit_windows()
        self.assertEqual(self._postgres_keys(), {fresh})

    def test_postgres_decisions_update_their_windows_heap_only(self):
        """A decision rewrites its windows in place: no index covers a
        column it changes, and the pages keep room for the new versions,
        so that a busy key's row versions do not pile up in an index."""
        cr = self.env.cr
        cr.execute(
            "SELECT indexdef FROM pg_indexes "
            "WHERE tablename = 'integration_rate_limit_counter'"
        )
        indexed = " ".join(definition for (definition,) in cr.fetchall())
        for column in ("buckets", "counts", "expires_at"):
            self.assertNotIn(column, indexed)
        cr.execute(
            "SELECT reloptions FROM pg_class "
            "WHERE relname = 'integration_rate_limit_counter'"
        )
        self.assertIn("fillfactor=50", cr.fetchone()[0])

    def test_settings_validate_and_store_the_limiter_parameters(self):
        settings = self.env["res.config.settings"]
        with self.assertRaisesRegex(ValidationError, "not a rate limit"):
            settings.create({"integration_auth_failure_limit": "ten a minute"})
        with self.assertRaisesRegex(ValidationError, "must start with redis://"):
            settings.create({"integration_redis_url": "http://127.0.0.1:6379"})
        settings.create(
            {
                "integration_auth_failure_limit": "5/minute",
                "integration_redis_url": LOCAL_REDIS,
                "integration_redis_failure_mode": "open",
            }
        ).execute()
        self.assertEqual(
            self.params.get_param("integration_gateway.auth_failure_limit"),
            "5/minute",
        )
        self.assertEqual(
            self.params.get_param("integration_gateway.redis_url"), LOCAL_REDIS
        )
        self.assertEqual(
            self.params.get_param("integration_gateway.redis_failure_mode"), "open"
        )
