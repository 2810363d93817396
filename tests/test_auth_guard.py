import itertools
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import config

from odoo.addons.integration_gateway.lib import ratelimit
from odoo.addons.integration_gateway.plumbing import own_cursor

GUARD_LOGGER = "odoo.addons.integration_gateway.models.ir_http"
_addresses = (f"198.51.100.{n}" for n in itertools.count(10))


@tagged("post_install", "-at_install")
class TestBearerAuthenticationGuard(HttpCase):
    """Failed Bearer authentications are limited per client address.

    Over real HTTP because the guard sits in Odoo's authentication of the
    request, before any controller: the answers (401, then 429 with
    Retry-After) are what a client guessing keys sees. Each test speaks from
    an address of its own, given by X-Forwarded-For in proxy mode."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user = new_test_user(cls.env, "ig_guard_user")
        cls.key = (
            cls.env["res.users.apikeys"]
            .with_user(user)
            ._generate(None, "guard", datetime.now() + timedelta(days=1))
        )

    def setUp(self):
        super().setUp()
        self.address = next(_addresses)
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.auth_failure_limit", "3/minute"
        )
        self.startPatcher(patch.dict(config.options, {"proxy_mode": True}))
        self.addCleanup(self._forget_failures)

    def _forget_failures(self):
        storage = ratelimit.PostgresStorage(lambda: own_cursor(self.env.cr.dbname))
        storage.clear(
            f"auth-failure:{self.address}", ratelimit.parse_limits("3/minute")
        )

    def _call(self, key=None, address=None):
        headers = {
            "Content-Type": "application/json",
            "X-Forwarded-For": f"10.9.9.9, {address or self.address}",
        }
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return self.url_open(
            "/json/2/res.users/context_get", data="{}", headers=headers
        )

    def test_failures_get_the_address_blocked_even_with_the_right_key(self):
        self.assertEqual(self._call(self.key).status_code, 200)
        wrong = "0" * 40
        self.assertEqual(self._call(wrong).status_code, 401)
        self.assertEqual(self._call(wrong).status_code, 401)
        with self.assertLogs(GUARD_LOGGER, "WARNING") as logs:
            self.assertEqual(self._call(wrong).status_code, 401)
        self.assertIn(f"blocked for {self.address} after 3 failed", logs.output[0])

        blocked = self._call(self.key)
        self.assertEqual(blocked.status_code, 429)
        self.assertTrue(55 <= int(blocked.headers["Retry-After"]) <= 61)
        body = blocked.json()
        self.assertEqual(body["name"], "werkzeug.exceptions.TooManyRequests")
        self.assertIn("Too many failed API key authentications", body["message"])
        self.assertIn("3/minute", body["message"])
        self.assertEqual(self._call(wrong).status_code, 429)

        # The limit is per address: another client is not blocked.
        self.assertEqual(self._call(self.key, next(_addresses)).status_code, 200)

    def test_calls_without_a_key_and_right_keys_are_no_failures(self):
        for _ in range(4):
            self.assertEqual(self._call().status_code, 401)
            self.assertEqual(self._call(self.key).status_code, 200)

    def test_without_a_limit_failures_are_not_limited(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_gateway.auth_failure_limit", ""
        )
        for _ in range(4):
            self.assertEqual(self._call("0" * 40).status_code, 401)
        self.assertEqual(self._call(self.key).status_code, 200)
