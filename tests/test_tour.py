from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestIntegrationTours(HttpCase):
    """The Integrations screens open in a real browser."""

    def test_open_integrations_menu(self):
        self.start_tour("/odoo?debug=1", "integration_gateway_open_menu", login="admin")

    def test_api_policy_screen(self):
        """A policy with a rule is made and saved from its screen."""
        self.start_tour(
            "/odoo/action-integration_gateway.action_integration_api_policy?debug=1",
            "integration_gateway_api_policy",
            login="admin",
        )
        policy = self.env["integration.api.policy"].search(
            [("name", "=", "Tour partners")]
        )
        self.assertTrue(policy.read_only)
        self.assertEqual(
            [(r.model_pattern, r.method_pattern, r.effect) for r in policy.rule_ids],
            [("res.partner*", "read, search_*", "allow")],
        )
