from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestIntegrationMenus(TransactionCase):
    """Settings > Technical > Integrations is there for the right people."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.env.ref("integration_gateway.menu_integration_root")
        cls.admin = cls.env.ref("base.user_admin")
        cls.manager = new_test_user(
            cls.env,
            login="ig_manager",
            groups="base.group_user,base.group_no_one,"
            "integration_gateway.group_integration_manager",
        )
        cls.employee = new_test_user(
            cls.env, login="ig_employee", groups="base.group_user,base.group_no_one"
        )

    def _visible_menu_ids(self, user):
        # What the web client shows in developer mode.
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids(debug=True)

    def test_admin_is_integration_manager(self):
        self.assertIn(
            self.env.ref("integration_gateway.group_integration_manager"),
            self.admin.all_group_ids,
        )

    def test_menu_under_technical_settings(self):
        self.assertEqual(self.root.parent_id, self.env.ref("base.menu_custom"))

    def test_admin_sees_integrations_and_its_actions_open(self):
        visible = self._visible_menu_ids(self.admin)
        self.assertIn(self.root.id, visible)
        menus = self.env["ir.ui.menu"].search([("id", "child_of", self.root.id)])
        windows = menus.filtered(
            lambda m: m.action and m.action._name == "ir.actions.act_window"
        )
        self.assertTrue(windows, "Integrations has no window action")
        for menu in windows:
            with self.subTest(menu=menu.complete_name):
                self.assertIn(menu.id, visible)
                action = menu.action
                model = self.env[action.res_model].with_user(self.admin)
                views = [(v.view_id.id, v.view_mode) for v in action.view_ids] or [
                    (False, mode) for mode in action.view_mode.split(",")
                ]
                views.append((action.search_view_id.id, "search"))
                result = model.get_views(views)
                self.assertEqual(set(result["views"]), {mode for _id, mode in views})

    def test_employee_does_not_see_integrations(self):
        self.assertNotIn(self.root.id, self._visible_menu_ids(self.employee))
