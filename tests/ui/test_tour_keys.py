"""API keys where administrators look for them, in a real browser: the keys
of a user on the user's form with the button that issues one, the dialog
that shows an issued key once (for whom, the policy in plain words, expiry,
a copy button), the list of keys with its button, an empty policy that says
what applies, and a revocation that asks first. One tour, since each costs
a browser."""

from odoo.tests import HttpCase, new_test_user, tagged

from ...lib.defaults import DEFAULT_POLICY_PARAM
from ..common import ApiKeyMixin


@tagged("post_install", "-at_install")
class TestApiKeyTours(ApiKeyMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Policy = cls.env["integration.api.policy"]
        default = Policy.create(
            {"name": "Tour default", "rule_ids": [(0, 0, {"model_pattern": "res.*"})]}
        )
        cls.env["ir.config_parameter"].sudo().set_param(
            DEFAULT_POLICY_PARAM, str(default.id)
        )
        cls.warehouse = Policy.create(
            {
                "name": "Tour warehouse",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "model_pattern": "stock.*",
                            "method_pattern": "read, search_read",
                        },
                    )
                ],
            }
        )
        cls.user = new_test_user(
            cls.env, login="tour_integration", name="Tour Integration"
        )

    def setUp(self):
        super().setUp()
        _token, self.old_key = self.issue_key(self.user, name="Old sync", days=30)

    def test_keys_on_the_user_form(self):
        """Issued and revoked from the user's form; the list of keys has the
        same button and says what applies to a key without a policy."""
        self.start_tour(
            f"/odoo/action-base.action_res_users/{self.user.id}?debug=1",
            "integration_gateway_user_keys",
            login="admin",
        )
        key = self.env["res.users.apikeys"].search([("user_id", "=", self.user.id)])
        self.assertEqual(key.name, "Warehouse sync")
        self.assertEqual(key.integration_policy_id, self.warehouse)
        self.assertFalse(self.old_key.exists())

        keys = self.env["res.users.apikeys"]
        list_arch = keys.get_view(
            self.env.ref(
                "integration_gateway.res_users_apikeys_view_list_integration"
            ).id,
            "list",
        )["arch"]
        self.assertIn('string="Issue API Key"', list_arch)
        self.assertIn("Revoke this API key?", list_arch)
        _token, other = self.issue_key(self.user, name="No policy")
        self.assertEqual(other.integration_policy_label, "Default policy: Tour default")
        self.env["ir.config_parameter"].sudo().set_param(DEFAULT_POLICY_PARAM, "")
        other.invalidate_recordset()
        self.assertEqual(
            other.integration_policy_label, "Full user rights (no default policy)"
        )
