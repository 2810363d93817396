import itertools
import json
import secrets
import xmlrpc.client
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import config, mute_logger

from odoo.addons.integration_gateway.lib import ratelimit
from odoo.addons.integration_gateway.plumbing import own_cursor

GUARD_LOGGER = "odoo.addons.integration_gateway.models.ir_http"
_addresses = (f"198.51.100.{n}" for n in itertools.count(10))


class AuthGuardCase(HttpCase):
    """A user with a key, a limit of 3 failures a minute and an address of
    each test's own, given by X-Forwarded-For in proxy mode."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = user = new_test_user(cls.env, "ig_guard_user")
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

    def _new_key(self):
        """A key no worker has verified yet."""
        return (
            self.env["res.users.apikeys"]
            .with_user(self.user)
            ._generate(None, "guard", datetime.now() + timedelta(days=1))
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


@tagged("post_install", "-at_install")
class TestBearerAuthenticationGuard(AuthGuardCase):
    """Failed Bearer authentications are limited per client address.

    Over real HTTP because the guard sits in Odoo's authentication of the
    request, before any controller: the answers (401, then 429 with
    Retry-After) are what a client guessing keys sees."""

    def test_failures_get_the_address_blocked_for_keys_not_verified(self):
        unverified = self._new_key()
        self.assertEqual(self._call(self.key).status_code, 200)
        wrong = "0" * 40
        self.assertEqual(self._call(wrong).status_code, 401)
        self.assertEqual(self._call(wrong).status_code, 401)
        with self.assertLogs(GUARD_LOGGER, "WARNING") as logs:
            self.assertEqual(self._call(wrong).status_code, 401)
        self.assertIn(f"blocked for {self.address} after 3 failed", logs.output[0])

        # A token the worker has not verified is refused before it is
        # checked, whether it is right or not: the guard cannot tell.
        blocked = self._call(unverified)
        self.assertEqual(blocked.status_code, 429)
        self.assertTrue(55 <= int(blocked.headers["Retry-After"]) <= 60)
        body = blocked.json()
        self.assertEqual(body["name"], "werkzeug.exceptions.TooManyRequests")
        self.assertIn("Too many failed API key authentications", body["message"])
        self.assertIn("3/minute", body["message"])
        self.assertEqual(self._call(wrong).status_code, 429)

        # The limit is per address: another client is not blocked.
        self.assertEqual(self._call(unverified, next(_addresses)).status_code, 200)

    def test_a_verified_key_keeps_working_beside_a_guesser(self):
        """A client whose key the worker verified before is no guesser: it
        keeps working from an address a guesser got blocked (behind the
        same NAT), without the guard's storage being consulted for it."""
        self.assertEqual(self._call(self.key).status_code, 200)
        for _ in range(3):
            self.assertEqual(self._call("0" * 40).status_code, 401)
        self.assertEqual(self._call("1" * 40).status_code, 429)
        self.assertEqual(self._call(self.key).status_code, 200)
        self.assertEqual(self._call(self._new_key()).status_code, 429)

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


@tagged("post_install", "-at_install")
class TestLegacyRpcGuard(AuthGuardCase):
    """XML-RPC and JSON-RPC take an API key as the password: a key guessed
    there is a key guessed. A failed password that has the shape of a key
    counts against the address in the same window as Bearer failures, and
    an address over the limit is refused there too, even with a correct key,
    in the legacy protocols' own error shapes. Passwords of another shape
    cannot be keys: they are left to Odoo and its login cooldown."""

    def setUp(self):
        super().setUp()
        for logger in (
            "odoo.addons.rpc.controllers.xmlrpc",
            "odoo.addons.rpc.controllers.jsonrpc",
        ):
            muted = mute_logger(logger)  # the deprecation notice of each call
            muted.__enter__()
            self.addCleanup(muted.__exit__)

    def _headers(self, content_type):
        return {"Content-Type": content_type, "X-Forwarded-For": self.address}

    def _xmlrpc(self, password, service="object"):
        """An XML-RPC call on /xmlrpc/2; returns its result or raises its
        Fault."""
        if service == "object":
            params = (self.env.cr.dbname, self.user.id, password, "res.users")
            params += ("search_count", [[("id", "=", self.user.id)]])
            method = "execute_kw"
        else:
            params = (self.env.cr.dbname, "ig_guard_user", password, {})
            method = "authenticate"
        response = self.url_open(
            f"/xmlrpc/2/{service}",
            data=xmlrpc.client.dumps(params, method),
            headers=self._headers("text/xml"),
        )
        self.assertEqual(response.status_code, 200, response.text)
        return xmlrpc.client.loads(response.text)[0][0]

    def _jsonrpc(self, password):
        response = self.url_open(
            "/jsonrpc",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "service": "object",
                        "method": "execute_kw",
                        "args": [
                            self.env.cr.dbname,
                            self.user.id,
                            password,
                            "res.users",
                            "search_count",
                            [[("id", "=", self.user.id)]],
                        ],
                    },
                }
            ),
            headers=self._headers("application/json"),
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def _fail_xmlrpc(self):
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._xmlrpc(secrets.token_hex(20))
        self.assertEqual(caught.exception.faultCode, 3)  # AccessDenied

    def test_legacy_key_failures_block_the_address_everywhere(self):
        self.assertEqual(self._xmlrpc(self.key), 1)
        self._fail_xmlrpc()
        self.assertEqual(self._xmlrpc(secrets.token_hex(20), "common"), False)
        with self.assertLogs(GUARD_LOGGER, "WARNING") as logs:
            body = self._jsonrpc(secrets.token_hex(20))
        self.assertEqual(body["error"]["data"]["name"], "odoo.exceptions.AccessDenied")
        self.assertIn(f"blocked for {self.address} after 3 failed", logs.output[0])

        # a key the worker has not verified is refused, on every channel,
        # while the key verified before keeps working (no guess)
        unverified = self._new_key()
        with (
            mute_logger("odoo.http"),
            self.assertRaises(xmlrpc.client.Fault) as caught,
        ):
            self._xmlrpc(unverified)
        self.assertEqual(caught.exception.faultCode, 2)  # a UserError
        self.assertIn(
            "Too many failed API key authentications", caught.exception.faultString
        )
        self.assertIn("3/minute", caught.exception.faultString)
        with mute_logger("odoo.http"):
            body = self._jsonrpc(unverified)
        self.assertIn("RateLimitExceeded", body["error"]["data"]["name"])
        self.assertIn(self.address, body["error"]["data"]["message"])
        self.assertEqual(self._call(unverified).status_code, 429)
        self.assertEqual(self._xmlrpc(self.key), 1)
        self.assertEqual(self._call(self.key).status_code, 200)

    def test_bearer_failures_block_legacy_calls(self):
        for _ in range(2):
            self.assertEqual(self._call("0" * 40).status_code, 401)
        with self.assertLogs(GUARD_LOGGER, "WARNING"):
            self.assertEqual(self._call("0" * 40).status_code, 401)
        with (
            mute_logger("odoo.http"),
            self.assertRaises(xmlrpc.client.Fault) as caught,
        ):
            self._xmlrpc(self._new_key())
        self.assertIn(
            "Too many failed API key authentications", caught.exception.faultString
        )

    def test_passwords_that_cannot_be_keys_are_left_to_odoo(self):
        for _ in range(4):
            with self.assertRaises(xmlrpc.client.Fault) as caught:
                self._xmlrpc("not a key")
            self.assertEqual(caught.exception.faultCode, 3)
        self.assertEqual(self._xmlrpc(self.key), 1)
        self.assertEqual(self._call(self.key).status_code, 200)
        # the user's password, on an address over the limit, works as before
        for _ in range(3):
            self._fail_xmlrpc()
        user_password = "ig_guard_user"  # new_test_user's password is the login
        self.assertEqual(self._xmlrpc(user_password), 1)
