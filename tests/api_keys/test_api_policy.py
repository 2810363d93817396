"""API key policies enforced on JSON/2 with real keys over real HTTP.

The keys are made the way Odoo makes them (hashed in the database) and
every call goes through the test server's whole request cycle: Bearer
authentication, ``_pre_dispatch`` and JSON/2's own error handling.
"""

import contextlib
import datetime
import json
import xmlrpc.client
from unittest.mock import patch

import odoo
from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import Transport
from odoo.tools import SQL, mute_logger

from odoo.addons.base.models.res_users import KEY_CRYPT_CONTEXT
from odoo.addons.integration_gateway.lib.api_usage import usage_tally

from ..common import ApiKeyMixin

ACCESS_ERROR = "odoo.exceptions.AccessError"
# The key hashing as the addon uses it, to count the (slow) hash checks.
HASHES = "odoo.addons.integration_gateway.models.res_users_apikeys.KEY_CRYPT_CONTEXT"


class ApiPolicyCase(ApiKeyMixin, HttpCase):
    """Users, policies and keys for the policy tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_user = new_test_user(
            cls.env,
            login="ig_api_user",
            groups="base.group_user,base.group_partner_manager",
        )
        cls.partner = cls.env["res.partner"].create({"name": "Policy Partner"})
        cls.Policy = cls.env["integration.api.policy"]
        cls.partners_policy = cls.Policy.create(
            {
                "name": "Partners",
                "rule_ids": [
                    (0, 0, {"model_pattern": "res.partner*", "method_pattern": "*"}),
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

    def make_key(self, policy=None, user=None, days=0.5):
        """A new key of ``user`` (the API user), under ``policy``."""
        return self.issue_key(user or self.api_user, policy, days=days)

    @contextlib.contextmanager
    def refused(self, count=1):
        """Odoo logs every refused call as a warning of ``odoo.http``."""
        with self.assertLogs("odoo.http", "WARNING") as logs:
            yield
        self.assertEqual(len(logs.records), count, logs.output)
        for record in logs.records:
            self.assertIn("refuses", record.getMessage())

    def assertDenied(self, response, *words):
        self.assertEqual(response.status_code, 403, response.text)
        body = response.json()
        self.assertEqual(body["name"], ACCESS_ERROR)
        for word in words:
            self.assertIn(word, body["message"])
        return body


@tagged("post_install", "-at_install")
class TestJson2Policies(ApiPolicyCase):
    def test_allowed_call(self):
        token, _key = self.make_key(self.partners_policy)
        response = self.json2(
            token,
            "res.partner",
            "search_read",
            domain=[("id", "=", self.partner.id)],
            fields=["name"],
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            response.json(), [{"id": self.partner.id, "name": "Policy Partner"}]
        )

    def test_denied_model(self):
        token, _key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.json2(
                token, "res.users", "search_read", domain=[], fields=["login"]
            )
        self.assertDenied(
            response, "res.users.search_read", "'Partners'", "no rule allows it"
        )

    def test_denied_method(self):
        token, _key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.json2(token, "res.partner", "unlink", ids=[self.partner.id])
        self.assertDenied(
            response, "res.partner.unlink", "'Partners'", "a rule denies it"
        )
        self.assertTrue(self.partner.exists())

    def test_read_only_key_cannot_write(self):
        self.partners_policy.read_only = True
        token, _key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "write",
                ids=[self.partner.id],
                vals={"name": "Changed"},
            )
        self.assertDenied(response, "res.partner.write", "read-only")
        self.assertEqual(self.partner.name, "Policy Partner")
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 200, response.text)

    def test_writing_key_writes(self):
        token, _key = self.make_key(self.partners_policy)
        response = self.json2(
            token,
            "res.partner",
            "write",
            ids=[self.partner.id],
            vals={"name": "Changed"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.partner.name, "Changed")

    def test_address_outside_the_networks(self):
        self.partners_policy.allowed_networks = "10.0.0.0/8, 192.0.2.7"
        token, _key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertDenied(response, "127.0.0.1 is outside the networks")
        # A client cannot claim another address unless Odoo runs behind a
        # proxy, which appends the real one last.
        forwarded = {"X-Forwarded-For": "10.1.2.3"}
        with self.refused():
            response = self.json2(
                token, "res.partner", "search_count", forwarded, domain=[]
            )
        self.assertDenied(response, "127.0.0.1")
        with patch.dict(odoo.tools.config.options, {"proxy_mode": True}):
            response = self.json2(
                token, "res.partner", "search_count", forwarded, domain=[]
            )
            self.assertEqual(response.status_code, 200, response.text)
            spoofed = {"X-Forwarded-For": "10.1.2.3, 203.0.113.5"}
            with self.refused():
                response = self.json2(
                    token, "res.partner", "search_count", spoofed, domain=[]
                )
            self.assertDenied(response, "203.0.113.5")

    def test_bad_networks_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "'10.0.0.300' is not an IP"):
            self.partners_policy.allowed_networks = "10.0.0.300"

    def test_expired_key(self):
        token, key = self.make_key(self.partners_policy)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        self.env.cr.execute(
            SQL(
                "UPDATE res_users_apikeys SET expiration_date = %s WHERE id = %s",
                datetime.datetime.now() - datetime.timedelta(minutes=1),
                key.id,
            )
        )
        # expired while its verification is cached
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)

    def test_policy_lifetime_expires_older_keys(self):
        self.partners_policy.max_key_lifetime_days = 30
        token, key = self.make_key(self.partners_policy, days=1)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        self.env.cr.execute(
            SQL(
                "UPDATE res_users_apikeys SET create_date = %s WHERE id = %s",
                datetime.datetime.now() - datetime.timedelta(days=31),
                key.id,
            )
        )
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)

    def test_revoked_key_is_refused_at_once(self):
        token, key = self.make_key(self.partners_policy)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        key.with_user(self.env.ref("base.user_admin"))._remove()
        # other workers drop their cached entries when this commits
        self.assertIn("default", self.env.registry.cache_invalidated)
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)

    def test_revocation_holds_without_cache_signalling(self):
        """A worker whose cache still holds the key (it has not seen the
        signal yet) refuses it all the same: only the token's hash check is
        cached, the key's row is read on every request."""
        token, key = self.make_key(self.partners_policy)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        self.env.cr.execute(SQL("DELETE FROM res_users_apikeys WHERE id = %s", key.id))
        self.assertEqual(
            self.env["res.users.apikeys"]._integration_key_id_of(token),
            key.id,
            "the verified token is still cached",
        )
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)

    def test_archived_user_key_is_refused(self):
        token, _key = self.make_key(self.partners_policy)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        self.api_user.active = False
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 401, response.text)

    def test_policy_change_takes_effect_at_once(self):
        token, key = self.make_key(self.partners_policy)
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        # a tightened rule
        self.partners_policy.rule_ids[0].model_pattern = "res.country"
        with self.refused():
            response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertDenied(response)
        # the key moved to another policy
        countries = self.Policy.create(
            {
                "name": "Countries",
                "rule_ids": [(0, 0, {"model_pattern": "res.partner"})],
            }
        )
        key.integration_policy_id = countries
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        # a rule removed
        countries.rule_ids.unlink()
        with self.refused():
            response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertDenied(response, "'Countries'")

    def test_compiled_policy_is_cached_by_revision(self):
        Policy = self.Policy.sudo()
        revision = self.partners_policy.revision
        first = Policy._integration_compiled(self.partners_policy.id, revision)
        self.assertIs(
            Policy._integration_compiled(self.partners_policy.id, revision), first
        )
        self.partners_policy.read_only = True
        self.assertGreater(self.partners_policy.revision, revision)
        fresh = Policy._integration_compiled(
            self.partners_policy.id, self.partners_policy.revision
        )
        self.assertTrue(fresh.read_only)
        self.assertFalse(first.read_only)

    def test_default_policy_applies_to_keys_without_policy(self):
        token, _key = self.make_key()
        response = self.json2(token, "res.users", "search_count", domain=[])
        self.assertEqual(response.status_code, 200, "no default policy: core behaviour")
        settings = self.env["res.config.settings"].create(
            {"integration_default_policy_id": self.partners_policy.id}
        )
        settings.execute()
        self.assertTrue(self.partners_policy.is_default)
        with self.refused():
            response = self.json2(token, "res.users", "search_count", domain=[])
        self.assertDenied(response, "'Partners'")
        self.assertEqual(
            self.json2(token, "res.partner", "search_count", domain=[]).status_code, 200
        )
        with self.assertRaisesRegex(UserError, "default policy"):
            self.partners_policy.unlink()

    def test_missing_default_policy_refuses(self):
        token, _key = self.make_key()
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.default_policy_id", "999999999"
        )
        with self.refused():
            response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertDenied(response, "no rule allows it")

    def test_verified_key_is_cached(self):
        token, _key = self.make_key(self.partners_policy)
        self.env.registry.clear_cache()
        with patch(HASHES, wraps=KEY_CRYPT_CONTEXT) as hashes:
            for _i in range(3):
                response = self.json2(token, "res.partner", "search_count", domain=[])
                self.assertEqual(response.status_code, 200)
        self.assertEqual(hashes.verify.call_count, 1)

    def test_wrong_token_is_refused_and_not_cached(self):
        token, _key = self.make_key(self.partners_policy)
        wrong = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        with patch(HASHES, wraps=KEY_CRYPT_CONTEXT) as hashes:
            for _i in range(2):
                response = self.json2(wrong, "res.partner", "search_count", domain=[])
                self.assertEqual(response.status_code, 401)
        self.assertEqual(hashes.verify.call_count, 2)

    def test_remembered_key(self):
        token, key = self.make_key(self.partners_policy)
        api_key = self.env["res.users.apikeys"]._integration_authenticate(token)
        self.assertEqual(
            (api_key.key_id, api_key.user_id, api_key.policy_id),
            (key.id, self.api_user.id, self.partners_policy.id),
        )
        core_token, core_key = self.make_key()
        api_key = self.env["res.users.apikeys"]._integration_authenticate(core_token)
        self.assertEqual((api_key.key_id, api_key.policy_id), (core_key.id, None))

    def test_other_bearer_routes(self):
        token, key = self.make_key(self.partners_policy)
        with self.refused():
            response = self.url_open(
                "/json/1/odoo/contacts", headers={"Authorization": f"Bearer {token}"}
            )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("keys with a policy may not use this route", response.text)
        # Counted once the answer is sent, as every call of the key is.
        tally = usage_tally(key.id, fields.Datetime.now().date())
        counts = self.env["integration.rate.limiter"]._drain(tally)
        self.assertEqual(counts, {tally: {"allowed": 1, "denied": 1}})


@tagged("post_install", "-at_install")
class TestLegacyRpcPolicies(ApiPolicyCase):
    """XML-RPC and JSON-RPC run the ORM outside the HTTP request: the
    policy is applied by the RPC controller."""

    def setUp(self):
        super().setUp()
        for logger in (
            "odoo.addons.rpc.controllers.xmlrpc",
            "odoo.addons.rpc.controllers.jsonrpc",
        ):
            muted = mute_logger(logger)  # the deprecation notice of each call
            muted.__enter__()
            self.addCleanup(muted.__exit__)

    def xmlrpc(self, token, model, method, *args):
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, self.api_user.id, token, model, method, list(args)
        )

    def jsonrpc(self, service, method, *args):
        response = self.url_open(
            "/jsonrpc",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "service": service,
                        "method": method,
                        "args": list(args),
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_xmlrpc_refused_unless_allowed(self):
        token, _key = self.make_key(self.partners_policy)
        domain = [[("id", "=", self.partner.id)]]
        with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc(token, "res.partner", "search", *domain)
        self.assertEqual(caught.exception.faultCode, 4)  # an AccessError
        self.assertIn(
            "does not allow XML-RPC or JSON-RPC", caught.exception.faultString
        )
        self.partners_policy.allow_legacy_rpc = True
        self.assertEqual(
            self.xmlrpc(token, "res.partner", "search", *domain), [self.partner.id]
        )
        with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc(token, "res.users", "search", [])
        self.assertEqual(caught.exception.faultCode, 4)
        self.assertIn("res.users.search", caught.exception.faultString)
        with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc(token, "res.partner", "unlink", [self.partner.id])
        self.assertIn("a rule denies it", caught.exception.faultString)

    def test_expired_key_refused_at_once(self):
        """Odoo caches a successful legacy check per user and password: a
        key that expires afterwards is refused all the same."""
        self.partners_policy.allow_legacy_rpc = True
        token, key = self.make_key(self.partners_policy)
        domain = [[("id", "=", self.partner.id)]]
        self.assertEqual(
            self.xmlrpc(token, "res.partner", "search", *domain), [self.partner.id]
        )
        self.env.cr.execute(
            SQL(
                "UPDATE res_users_apikeys SET expiration_date = %s WHERE id = %s",
                datetime.datetime.now() - datetime.timedelta(minutes=1),
                key.id,
            )
        )
        with mute_logger("odoo.http"), self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc(token, "res.partner", "search", *domain)
        self.assertEqual(caught.exception.faultCode, 3)  # AccessDenied
        with mute_logger("odoo.http"):
            body = self.jsonrpc(
                "object",
                "execute_kw",
                self.env.cr.dbname,
                self.api_user.id,
                token,
                "res.partner",
                "search_count",
                [[]],
            )
        self.assertEqual(body["error"]["data"]["name"], "odoo.exceptions.AccessDenied")

    def test_historical_xmlrpc_refused(self):
        token, _key = self.make_key(self.partners_policy)
        proxy = xmlrpc.client.ServerProxy(
            f"{self.base_url()}/xmlrpc/object", transport=Transport(self)
        )
        with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
            proxy.execute(
                self.env.cr.dbname, self.api_user.id, token, "res.partner", "search", []
            )
        self.assertIn("warning -- AccessError", caught.exception.faultCode)
        self.assertIn("'Partners'", caught.exception.faultCode)

    def test_xmlrpc_login_refused_unless_allowed(self):
        token, _key = self.make_key(self.partners_policy)
        login = self.api_user.login
        with self.refused(), self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc_common.authenticate(self.env.cr.dbname, login, token, {})
        self.assertEqual(caught.exception.faultCode, 4)
        self.assertIn("refuses common.authenticate", caught.exception.faultString)
        self.partners_policy.allow_legacy_rpc = True
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, login, token, {})
        self.assertEqual(uid, self.api_user.id)

    def test_jsonrpc_refused_unless_allowed(self):
        token, _key = self.make_key(self.partners_policy)
        call = (
            self.env.cr.dbname,
            self.api_user.id,
            token,
            "res.partner",
            "search_count",
            [[]],
        )
        with self.refused():
            body = self.jsonrpc("object", "execute_kw", *call)
        self.assertEqual(body["error"]["data"]["name"], ACCESS_ERROR)
        self.assertIn("'Partners'", body["error"]["data"]["message"])
        self.partners_policy.allow_legacy_rpc = True
        body = self.jsonrpc("object", "execute_kw", *call)
        self.assertGreaterEqual(body["result"], 1)
        with self.refused():
            body = self.jsonrpc(
                "object", "execute_kw", *call[:3], "res.users", "search_count", [[]]
            )
        self.assertEqual(body["error"]["data"]["name"], ACCESS_ERROR)
        self.assertIn("res.users.search_count", body["error"]["data"]["message"])

    def test_keys_without_policy_and_passwords_keep_core_behaviour(self):
        token, _key = self.make_key()
        self.assertEqual(
            self.xmlrpc(token, "res.users", "search", [("id", "=", self.api_user.id)]),
            [self.api_user.id],
        )
        uid = self.xmlrpc_common.authenticate(
            self.env.cr.dbname, self.api_user.login, self.api_user.login, {}
        )
        self.assertEqual(uid, self.api_user.id)

    def test_policy_key_refused_outside_the_checked_controller(self):
        """A call reaching the ORM without the RPC controller (a server
        with several databases and no database selected serves the legacy
        endpoints without the addon's routes) cannot use a policy key."""
        self.partners_policy.allow_legacy_rpc = True
        token, _key = self.make_key(self.partners_policy)
        with self.assertRaises(odoo.exceptions.AccessDenied):
            odoo.service.model.dispatch(
                "execute_kw",
                [
                    self.env.cr.dbname,
                    self.api_user.id,
                    token,
                    "res.partner",
                    "search",
                    [[]],
                ],
            )


@tagged("post_install", "-at_install")
class TestApiKeyAdministration(ApiPolicyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ig_key_manager",
            groups="base.group_user,integration_gateway.group_integration_manager",
        )
        cls.other_user = new_test_user(cls.env, login="ig_other_user")

    def test_manager_sets_the_policy_but_cannot_move_a_key(self):
        _token, key = self.make_key()
        as_manager = key.with_user(self.manager).sudo(False)
        as_manager.write({"integration_policy_id": self.partners_policy.id})
        self.assertEqual(key.integration_policy_id, self.partners_policy)
        self.assertIn(key, self.partners_policy.key_ids)
        self.assertEqual(self.partners_policy.key_count, 1)
        with self.assertRaisesRegex(AccessError, "Only the policy of an API key"):
            as_manager.write({"user_id": self.other_user.id})
        with self.assertRaisesRegex(AccessError, "Only the policy of an API key"):
            key.sudo().write({"name": "renamed", "integration_policy_id": False})
        self.assertEqual(key.user_id, self.api_user)

    def test_employee_cannot_set_a_policy(self):
        _token, key = self.make_key()
        with self.assertRaises(AccessError):
            key.with_user(self.api_user).write(
                {"integration_policy_id": self.partners_policy.id}
            )

    def test_policy_in_use_cannot_be_deleted(self):
        self.make_key(self.partners_policy)
        with self.assertRaisesRegex(UserError, "1 API key"):
            self.partners_policy.unlink()

    def _wizard(self, **values):
        return (
            self.env["integration.api.key.wizard"]
            .with_user(self.env.ref("base.user_admin"))
            .create({"user_id": self.api_user.id, "name": "ERP sync", **values})
        )

    def test_admin_issues_a_key_for_another_user(self):
        self.partners_policy.max_key_lifetime_days = 30
        wizard = self._wizard(policy_id=self.partners_policy.id)
        self.assertLessEqual(
            wizard.expiration_date,
            datetime.datetime.now() + datetime.timedelta(days=30),
        )
        action = wizard._issue_key()
        token = action["context"]["default_key"]
        api_key = self.env["res.users.apikeys"]._integration_authenticate(token)
        self.assertEqual(api_key.user_id, self.api_user.id)
        self.assertEqual(api_key.policy_id, self.partners_policy.id)
        response = self.json2(token, "res.partner", "search_count", domain=[])
        self.assertEqual(response.status_code, 200, response.text)

    def test_wizard_refuses_a_lifetime_beyond_the_policy(self):
        self.partners_policy.max_key_lifetime_days = 30
        too_late = datetime.datetime.now() + datetime.timedelta(days=31)
        with self.assertRaisesRegex(ValidationError, "at most 30 days"):
            self._wizard(policy_id=self.partners_policy.id, expiration_date=too_late)
        with self.assertRaisesRegex(ValidationError, "set an expiry"):
            self._wizard(policy_id=self.partners_policy.id, expiration_date=False)

    def test_only_administrators_issue_keys(self):
        wizard = (
            self.env["integration.api.key.wizard"]
            .sudo()
            .create(
                {
                    "user_id": self.other_user.id,
                    "name": "sneaky",
                    "policy_id": self.partners_policy.id,
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.with_user(self.manager).sudo(False)._issue_key()

    def test_default_policy_lifetime_holds_in_odoo_key_wizard(self):
        self.partners_policy.max_key_lifetime_days = 7
        self.env["ir.config_parameter"].set_param(
            "integration_gateway.default_policy_id", str(self.partners_policy.id)
        )
        admin = self.env.ref("base.user_admin")
        Description = self.env["res.users.apikeys.description"].with_user(admin)
        with self.assertRaisesRegex(ValidationError, "at most 7 days"):
            Description.create({"name": "mine", "duration": "30"})
        Description.create({"name": "mine", "duration": "7"})
