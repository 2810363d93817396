"""Per-key rate limits and usage on JSON/2, over real HTTP.

Every call goes through the test server's whole request cycle (Bearer
authentication, ``_pre_dispatch``, the read-only or read/write cursor JSON/2
picks, its error handling), which is where a call could be skipped or
counted twice. The counters are the real PostgreSQL ones, committed on the
limiter's own connections; they are removed after each test.
"""

import datetime
import json
import xmlrpc.client
from unittest.mock import patch

import redis

from odoo import api
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_gateway.models import res_users_apikeys
from odoo.addons.integration_gateway.plumbing import own_cursor

from ..common import ApiKeyMixin

TOO_MANY = "werkzeug.exceptions.TooManyRequests"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
DEAD_REDIS = "redis://127.0.0.1:18399/%d"  # nothing listens there
LIMITER_LOGGER = "odoo.addons.integration_gateway.models.integration_rate_limiter"


@tagged("post_install", "-at_install")
class TestApiRateLimit(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_user = new_test_user(
            cls.env,
            login="ig_rate_user",
            groups="base.group_user,base.group_partner_manager",
        )
        cls.partner = cls.env["res.partner"].create({"name": "Rate Partner"})
        cls.policy = cls.env["integration.api.policy"].create(
            {
                "name": "Three a minute",
                "rate_limit": "3/minute; 100/hour",
                "rule_ids": [
                    (0, 0, {"model_pattern": "res.partner", "method_pattern": "*"}),
                    (
                        0,
                        0,
                        {
                            "model_pattern": "res.partner",
                            "method_pattern": "unlink",
                            "effect": "deny",
                        },
                    ),
                ],
            }
        )

    def setUp(self):
        super().setUp()
        self.token, self.key = self.make_key(self.policy)

    def make_key(self, policy=None):
        return self.issue_key(self.api_user, policy, name="rate key")

    def call(self, model, method, token=None, **params):
        """A JSON/2 call with the test's key, or ``token``."""
        return self.json2(token or self.token, model, method, **params)

    def count(self, token=None):
        # search_count is read-only: JSON/2 runs it on a read-only cursor.
        return self.call("res.partner", "search_count", token, domain=[])

    def assertRateHeaders(self, response, remaining):
        headers = response.headers
        self.assertEqual(
            headers["RateLimit-Policy"], '"minute";q=3;w=60, "hour";q=100;w=3600'
        )
        self.assertRegex(headers["RateLimit"], rf'^"minute";r={remaining};t=\d+$')
        # t never exceeds the window, not even by the part of a bucket
        seconds = int(headers["RateLimit"].rpartition(";t=")[2])
        self.assertTrue(0 < seconds <= 60, headers["RateLimit"])
        self.assertEqual(headers["X-RateLimit-Limit"], "3")
        self.assertEqual(headers["X-RateLimit-Remaining"], str(remaining))
        reset = int(headers["X-RateLimit-Reset"])
        now = datetime.datetime.now(datetime.UTC).timestamp()
        self.assertTrue(now <= reset <= now + 61, (now, reset))

    def test_limit_reached_gives_429_with_headers(self):
        for remaining in (2, 1, 0):
            response = self.count()
            self.assertEqual(response.status_code, 200, response.text)
            self.assertRateHeaders(response, remaining)
            self.assertNotIn("Retry-After", response.headers)

        refused = self.count()
        self.assertEqual(refused.status_code, 429, refused.text)
        self.assertRateHeaders(refused, 0)
        retry_after = int(refused.headers["Retry-After"])
        self.assertTrue(1 <= retry_after <= 60, retry_after)
        body = refused.json()
        self.assertEqual(body["name"], TOO_MANY)
        self.assertIn("Rate limit exceeded for this API key: 3/minute", body["message"])
        self.assertIn(f"Retry in {retry_after} seconds", body["message"])
        self.assertEqual(
            body["context"]["rate_limit"],
            {
                "policy": "minute",
                "quantity": 3,
                "window": 60,
                "retry_after": retry_after,
            },
        )

    def test_denied_and_failing_calls_count_and_carry_headers(self):
        with self.assertLogs("odoo.http", "WARNING"):
            denied = self.call("res.partner", "unlink", ids=[self.partner.id])
        self.assertEqual(denied.status_code, 403, denied.text)
        self.assertRateHeaders(denied, 2)

        # A write on a record that does not exist fails and is rolled back.
        with self.assertLogs("odoo.http", "WARNING"):
            failed = self.call(
                "res.partner", "write", ids=[2**31 - 1], vals={"name": "x"}
            )
        self.assertEqual(failed.status_code, 404, failed.text)
        self.assertRateHeaders(failed, 1)

        missing = self.call("res.partner", "no_such_method")
        self.assertEqual(missing.status_code, 404, missing.text)
        self.assertRateHeaders(missing, 0)

        self.assertEqual(self.count().status_code, 429)

    def test_a_call_run_twice_by_odoo_counts_once(self):
        """A read-only method that writes makes Odoo run the whole request
        again on a read/write cursor (authentication and pre-dispatch
        included); the call is counted once."""
        Partner = type(self.env["res.partner"])
        runs = []

        @api.model
        @api.readonly
        def search_count(model, domain, limit=None):
            runs.append(model.env.cr.readonly)
            if len(runs) == 1:
                model.env.cr.execute("UPDATE res_partner SET id = id WHERE false")
            return 42

        with (
            patch.object(Partner, "search_count", search_count, create=True),
            self.assertLogs("odoo.sql_db", "ERROR") as failed,
            self.assertLogs("odoo.http", "WARNING") as retried,
        ):
            response = self.count()
        self.assertIn("bad query", failed.output[0])
        self.assertIn("retrying with a read/write cursor", retried.output[0])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), 42)
        self.assertEqual(runs, [True, False])
        self.assertRateHeaders(response, 2)
        self.assertRateHeaders(self.count(), 1)

    def test_keys_are_limited_separately_and_unlimited_keys_get_no_headers(self):
        other_token, _other = self.make_key(self.policy)
        for _ in range(3):
            self.count()
        self.assertEqual(self.count().status_code, 429)
        self.assertRateHeaders(self.count(other_token), 2)

        free_token, _free = self.make_key()
        for _ in range(5):
            free = self.count(free_token)
            self.assertEqual(free.status_code, 200)
            self.assertNotIn("RateLimit", free.headers)
            self.assertNotIn("X-RateLimit-Limit", free.headers)

    def test_usage_rows_count_calls_429s_and_denials(self):
        free_token, free_key = self.make_key()
        self.count()
        self.count()
        with self.assertLogs("odoo.http", "WARNING"):
            self.call("res.partner", "unlink", ids=[self.partner.id])
        self.count()
        self.count()
        self.count(free_token)

        Usage = self.env["integration.api.usage"]
        Usage._cron_collect()
        today = datetime.datetime.now(datetime.UTC).date()
        usage = Usage.search([("key_id", "=", self.key.id)])
        self.assertEqual(len(usage), 1)
        self.assertRecordValues(
            usage,
            [
                {
                    "date": today,
                    "user_id": self.api_user.id,
                    "policy_id": self.policy.id,
                    "key_name": "rate key",
                    "calls": 5,
                    "rate_limited": 2,
                    "denied": 1,
                }
            ],
        )
        free_usage = Usage.search([("key_id", "=", free_key.id)])
        self.assertEqual((free_usage.calls, free_usage.rate_limited), (1, 0))

        # The next collection adds to the same row of the day.
        self.count(free_token)
        Usage._cron_collect()
        self.assertEqual(free_usage.calls, 2)

    def test_last_use_is_written_at_most_once_a_minute(self):
        def last_use():
            with own_cursor(self.env.cr.dbname) as cr:
                cr.execute(
                    "SELECT used_at, ip, xmin::text FROM integration_api_key_last_use "
                    "WHERE key_id = %s",
                    (self.key.id,),
                )
                return cr.fetchone()

        self.assertIsNone(last_use())
        self.count()
        first = last_use()
        self.assertEqual(first[1], "127.0.0.1")
        self.count()
        self.count()
        self.assertEqual(last_use(), first, "written again within the minute")

        # Past the minute (for the process and for the database), written again.
        with own_cursor(self.env.cr.dbname) as cr:
            cr.execute(
                "UPDATE integration_api_key_last_use "
                "SET used_at = used_at - interval '2 minutes' WHERE key_id = %s",
                (self.key.id,),
            )
        written = res_users_apikeys._last_use_written
        written[(self.env.cr.dbname, self.key.id)] -= 120
        self.count()
        self.assertGreater(last_use()[0], first[0])

    def test_last_used_fields_show_the_last_use(self):
        self.assertFalse(self.key.last_used_at)
        at = datetime.datetime(2025, 1, 2, 3, 4, 5)
        self.env.cr.execute(
            "INSERT INTO integration_api_key_last_use VALUES (%s, %s, %s)",
            (self.key.id, at, "203.0.113.5"),
        )
        self.key.invalidate_recordset(["last_used_at", "last_used_ip"])
        self.assertEqual(self.key.last_used_at, at)
        self.assertEqual(self.key.last_used_ip, "203.0.113.5")

    def test_redis_backend(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("integration_gateway.redis_url", LOCAL_REDIS)
        client = redis.Redis.from_url(LOCAL_REDIS)
        self.addCleanup(client.close)
        namespace = f"integration_gateway:{params.get_param('database.uuid')}:"
        windows = [f"{namespace}rl:{{apikey:{self.key.id}}}:{w}" for w in (60, 3600)]
        self.addCleanup(client.delete, *windows)
        self.addCleanup(client.hdel, f"{namespace}tally", *self._tally_fields())

        for remaining in (2, 1, 0):
            self.assertRateHeaders(self.count(), remaining)
        refused = self.count()
        self.assertEqual(refused.status_code, 429)
        self.assertRateHeaders(refused, 0)
        self.assertEqual(
            sum(int(c) for f, c in client.hgetall(windows[0]).items() if f != b"x"), 3
        )

        self.env["integration.api.usage"]._cron_collect()
        usage = self.env["integration.api.usage"].search([("key_id", "=", self.key.id)])
        self.assertEqual((usage.calls, usage.rate_limited), (4, 1))

    def _tally_fields(self):
        day = datetime.datetime.now(datetime.UTC).date().isoformat()
        return [f"usage:{self.key.id}:{day}\n{f}" for f in ("allowed", "refused")]

    def test_redis_down_refuses_when_closed(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("integration_gateway.redis_url", DEAD_REDIS % 2)
        with self.assertLogs(LIMITER_LOGGER, "WARNING") as logs:
            response = self.count()
        # The guard against key guessing is not consulted for a key the
        # worker has verified before: the key's own limit refuses the call.
        self.assertEqual(len(logs.output), 1, logs.output)
        self.assertIn("calls refused (503)", logs.output[0])
        self.assertEqual(response.status_code, 503, response.text)
        self.assertEqual(response.headers["Retry-After"], "5")
        self.assertIn("rate limiter is unavailable", response.json()["message"])

        # A key without a limit is not refused for the outage of a storage it
        # does not use: only the guard against key guessing asked it.
        self.policy.rate_limit = False
        self.assertEqual(self.count().status_code, 200)

    def test_redis_down_lets_calls_through_when_open(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("integration_gateway.redis_url", DEAD_REDIS % 3)
        params.set_param("integration_gateway.redis_failure_mode", "open")
        with self.assertLogs(LIMITER_LOGGER, "WARNING") as logs:
            responses = [self.count() for _ in range(5)]
        self.assertEqual(len(logs.output), 1, "one warning, not one per call")
        self.assertIn("let through without a limit", logs.output[0])
        self.assertEqual([r.status_code for r in responses], [200] * 5)
        self.assertNotIn("RateLimit", responses[0].headers)

    def test_policy_rate_limit_is_checked_on_save(self):
        with self.assertRaisesRegex(ValidationError, "'lots/minute' is not a rate"):
            self.policy.rate_limit = "lots/minute"
        self.policy.rate_limit = "2 per second; 10/minute"
        self.assertEqual(self.count().headers["RateLimit"][:12], '"second";r=1')

    @mute_logger(
        "odoo.addons.rpc.controllers.xmlrpc", "odoo.addons.rpc.controllers.jsonrpc"
    )
    def test_legacy_rpc_calls_count_against_the_same_limit(self):
        """XML-RPC and JSON-RPC answer errors in their own envelope: over
        the limit, a warning Fault, or an error naming RateLimitExceeded."""
        self.policy.allow_legacy_rpc = True
        self.assertRateHeaders(self.count(), 2)
        args = [[("id", "=", self.partner.id)]]
        found = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname,
            self.api_user.id,
            self.token,
            "res.partner",
            "search",
            args,
        )
        self.assertEqual(found, [self.partner.id])
        with self.assertLogs("odoo.http", "WARNING"):
            denied = self.url_open(
                "/jsonrpc",
                data=json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "call",
                        "params": {
                            "service": "object",
                            "method": "execute_kw",
                            "args": [
                                self.env.cr.dbname,
                                self.api_user.id,
                                self.token,
                                "res.partner",
                                "unlink",
                                [[self.partner.id]],
                            ],
                        },
                    }
                ),
                headers={"Content-Type": "application/json"},
            ).json()
        self.assertEqual(denied["error"]["data"]["name"], "odoo.exceptions.AccessError")

        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.api_user.id,
                self.token,
                "res.partner",
                "search",
                args,
            )
        self.assertEqual(caught.exception.faultCode, 2)  # a warning, as UserError
        self.assertIn(
            "Rate limit exceeded for this API key: 3/minute", str(caught.exception)
        )
        self.assertEqual(self.count().status_code, 429)

        self.env["integration.api.usage"]._cron_collect()
        usage = self.env["integration.api.usage"].search([("key_id", "=", self.key.id)])
        self.assertEqual((usage.calls, usage.rate_limited, usage.denied), (5, 2, 1))
