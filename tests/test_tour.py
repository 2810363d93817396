from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestIntegrationTours(HttpCase):
    """The Integrations screens open in a real browser."""

    def test_open_integrations_menu(self):
        self.start_tour("/odoo?debug=1", "integration_gateway_open_menu", login="admin")
