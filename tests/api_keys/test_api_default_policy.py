"""The default policy setting, read one way by Settings and by the key
checks, over real HTTP: a value with whitespace around the id is that
policy; a value that is not a policy id refuses keys without a policy."""

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import ApiKeyMixin

DEFAULT_POLICY = "integration_gateway.default_policy_id"
POLICY_LOGGER = "odoo.addons.integration_gateway.models.integration_api_policy"


@tagged("post_install", "-at_install")
class TestDefaultPolicySetting(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_user = new_test_user(
            cls.env,
            login="ig_default_policy_user",
            groups="base.group_user,base.group_partner_manager",
        )
        cls.policy = cls.env["integration.api.policy"].create(
            {
                "name": "Partners only",
                "rule_ids": [(0, 0, {"model_pattern": "res.partner"})],
            }
        )

    def set_default(self, value):
        self.env["ir.config_parameter"].sudo().set_param(DEFAULT_POLICY, value)

    def settings(self):
        return self.env["res.config.settings"].create({})

    def count(self, token, model):
        return self.json2(token, model, "search_count", domain=[])

    def test_whitespace_around_the_id_is_the_default(self):
        token, _key = self.issue_key(self.api_user)
        self.set_default(f"{self.policy.id}\n")
        self.assertEqual(self.settings().integration_default_policy_id, self.policy)
        self.assertTrue(self.policy.is_default)
        with mute_logger("odoo.http"):
            response = self.count(token, "res.users")
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("'Partners only'", response.json()["message"])
        self.assertEqual(self.count(token, "res.partner").status_code, 200)

    def test_unreadable_default_refuses_keys_without_a_policy(self):
        token, _key = self.issue_key(self.api_user)
        own_token, _own_key = self.issue_key(self.api_user, self.policy)
        self.set_default("13x")
        with self.assertLogs(POLICY_LOGGER, "ERROR") as logs, mute_logger("odoo.http"):
            response = self.count(token, "res.partner")
            # logged once, not on every call
            self.assertEqual(self.count(token, "res.partner").status_code, 403)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("'13x', not a policy id", logs.output[0])
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("setting cannot be read", response.json()["message"])
        # keys with a policy of their own are not concerned
        self.assertEqual(self.count(own_token, "res.partner").status_code, 200)

        settings = self.settings()
        self.assertFalse(settings.integration_default_policy_id)
        self.assertTrue(settings.integration_default_policy_unreadable)
        # saving Settings without choosing a default keeps the refusals
        settings.execute()
        param = self.env["ir.config_parameter"].sudo().get_param(DEFAULT_POLICY)
        self.assertEqual(param, "13x")
        # choosing one replaces the unreadable value
        settings = self.settings()
        settings.integration_default_policy_id = self.policy
        settings.execute()
        self.assertEqual(self.settings().integration_default_policy_id, self.policy)
        self.assertFalse(self.settings().integration_default_policy_unreadable)
        self.assertEqual(self.count(token, "res.partner").status_code, 200)
        # and emptying it gives keys without a policy Odoo's behaviour again
        settings = self.settings()
        settings.integration_default_policy_id = False
        settings.execute()
        self.assertEqual(self.count(token, "res.users").status_code, 200)
