"""A key's policy holds for every model a call reaches, over real HTTP.

Each test makes a call whose URL names a model the policy allows, but whose
arguments reach another model (relational commands, delegated fields,
import paths, read specifications, domain, group-by and export paths, a
model name): the call must be refused with a 403 naming the model reached,
and nothing written. The keys belong to a system administrator, so that
nothing but the policy stands in the way.
"""

import json
import xmlrpc.client

from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .test_api_policy import ApiPolicyCase


class ReachCase(ApiPolicyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin_user = new_test_user(
            cls.env,
            login="ig_reach_admin",
            groups="base.group_user,base.group_system",
        )
        cls.target = new_test_user(cls.env, login="ig_reach_target")
        cls.system_group = cls.env.ref("base.group_system")

    def make_policy(self, name, *rules, **values):
        """A policy from (models, methods) pairs, all allowed."""
        return self.Policy.create(
            {
                "name": name,
                "rule_ids": [
                    (0, 0, {"model_pattern": models, "method_pattern": methods})
                    for models, methods in rules
                ],
                **values,
            }
        )

    def admin_key(self, *rules, **values):
        # policy names are unique: the first one of a test is "Reach"
        taken = self.Policy.search_count([("name", "=like", "Reach%")])
        name = f"Reach {taken + 1}" if taken else "Reach"
        policy = self.make_policy(name, *rules, **values)
        token, _key = self.make_key(policy, user=self.admin_user)
        return token

    def partner_key(self, methods="read, search_read, write"):
        return self.admin_key(("res.partner", methods))


@tagged("post_install", "-at_install")
class TestReachedWrites(ReachCase):
    def test_write_through_x2many_update(self):
        token = self.partner_key()
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "write",
                ids=[self.target.partner_id.id],
                vals={
                    "user_ids": [
                        [1, self.target.id, {"group_ids": [[4, self.system_group.id]]}]
                    ]
                },
            )
        # word for word as the README shows it
        self.assertDenied(
            response,
            "Policy 'Reach' refuses res.partner.write: the call would write "
            "res.users, and no rule allows res.users.write.",
        )
        self.assertNotIn(self.system_group, self.target.group_ids)

    def test_write_through_x2many_create(self):
        # a user's partner is created with it: allowed, the user is not
        token = self.partner_key("create, read, write")
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "write",
                ids=[self.partner.id],
                vals={"user_ids": [[0, 0, {"login": "ig_reach_new", "name": "New"}]]},
            )
        self.assertDenied(response, "create res.users")
        self.assertFalse(self.env["res.users"].search([("login", "=", "ig_reach_new")]))

    def test_write_through_x2many_delete(self):
        child = self.env["res.partner"].create(
            {"name": "Child", "parent_id": self.partner.id}
        )
        token = self.partner_key()
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "write",
                ids=[self.partner.id],
                vals={"child_ids": [[2, child.id]]},
            )
        self.assertDenied(response, "unlink res.partner")
        self.assertTrue(child.exists())

    def test_create_with_x2many(self):
        token = self.partner_key("create, read, write")
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "create",
                vals_list=[
                    {
                        "name": "Reach Created",
                        "user_ids": [[0, 0, {"login": "ig_reach_new", "name": "N"}]],
                    }
                ],
            )
        self.assertDenied(response, "res.partner.create", "create res.users")
        self.assertFalse(
            self.env["res.partner"].search([("name", "=", "Reach Created")])
        )

    def test_copy_default(self):
        token = self.partner_key("copy, create, read, write")
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "copy",
                ids=[self.partner.id],
                default={
                    "name": "Reach Copy",
                    "user_ids": [[0, 0, {"login": "ig_reach_new", "name": "N"}]],
                },
            )
        self.assertDenied(response, "res.partner.copy", "create res.users")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Reach Copy")]))

    def test_load_sub_path(self):
        token = self.partner_key("*")
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "load",
                fields=["name", "user_ids/login", "user_ids/name"],
                data=[["Reach Loaded", "ig_reach_new", "Loaded User"]],
            )
        self.assertDenied(response, "res.partner.load", "create res.users")
        self.assertFalse(self.env["res.users"].search([("login", "=", "ig_reach_new")]))
        self.assertFalse(
            self.env["res.partner"].search([("name", "=", "Reach Loaded")])
        )

    def test_import_wizard(self):
        """The import wizard loads into the model its record names."""
        wizard = (
            self.env["base_import.import"]
            .with_user(self.admin_user)
            .create(
                {
                    "res_model": "res.users",
                    "file": b"login,name\nig_reach_new,Imported User\n",
                    "file_type": "text/csv",
                    "file_name": "users.csv",
                }
            )
        )
        token = self.admin_key(("base_import.import", "*"))
        options = {"has_headers": True, "quoting": '"', "separator": ","}
        with self.refused():
            response = self.json2(
                token,
                "base_import.import",
                "execute_import",
                ids=wizard.ids,
                fields=["login", "name"],
                columns=["login", "name"],
                options=options,
            )
        self.assertDenied(response, "execute_import", "would create res.partner")
        self.assertFalse(self.env["res.users"].search([("login", "=", "ig_reach_new")]))

    def test_inherits_delegation(self):
        token = self.admin_key(("res.users", "read, write"))
        name = self.target.name
        with self.refused():
            response = self.json2(
                token,
                "res.users",
                "write",
                ids=[self.target.id],
                vals={"name": "Renamed Through Users"},
            )
        self.assertDenied(response, "res.users.write", "write res.partner")
        self.assertEqual(self.target.partner_id.name, name)

    def test_context_defaults(self):
        """``default_*`` context keys are values of every record the call
        creates: a group created with the user is reached too."""
        token = self.admin_key(("res.users", "create, read, write"))
        with self.refused():
            response = self.json2(
                token,
                "res.users",
                "create",
                vals_list=[{"login": "ig_reach_new", "partner_id": self.partner.id}],
                context={"default_group_ids": [[0, 0, {"name": "Reach Group"}]]},
            )
        self.assertDenied(response, "create res.groups")
        self.assertFalse(self.env["res.users"].search([("login", "=", "ig_reach_new")]))

    def test_refusals_are_counted_as_denials(self):
        policy = self.make_policy("Counted", ("res.partner", "*"))
        token, key = self.make_key(policy, user=self.admin_user)
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "search_count",
                domain=[("user_ids.login", "=", "admin")],
            )
        self.assertDenied(response, "read res.users")
        self.env["integration.api.usage"]._cron_collect()
        usage = self.env["integration.api.usage"].search([("key_id", "=", key.id)])
        self.assertEqual((usage.calls, usage.denied), (1, 1))

    def test_legacy_rpc_write_through_x2many(self):
        token = self.partner_key()
        self.Policy.search([("name", "=", "Reach")]).allow_legacy_rpc = True
        vals = {
            "user_ids": [
                [1, self.target.id, {"group_ids": [[4, self.system_group.id]]}]
            ]
        }
        with (
            mute_logger("odoo.addons.rpc.controllers.xmlrpc"),
            self.refused(),
            self.assertRaises(xmlrpc.client.Fault) as caught,
        ):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.admin_user.id,
                token,
                "res.partner",
                "write",
                [[self.target.partner_id.id], vals],
            )
        self.assertEqual(caught.exception.faultCode, 4)  # an AccessError
        self.assertIn("write res.users", caught.exception.faultString)
        self.assertNotIn(self.system_group, self.target.group_ids)

    def test_jsonrpc_named_and_positional_arguments(self):
        """Legacy arguments are read as Odoo reads them: named (execute_kw's
        keyword arguments) or positional (execute)."""
        token = self.partner_key("*")
        self.Policy.search([("name", "=", "Reach")]).allow_legacy_rpc = True
        login = [("user_ids.login", "=", self.target.login)]
        vals = {"user_ids": [[1, self.target.id, {"login": "ig_reach_renamed"}]]}
        calls = (
            ("execute_kw", "res.partner", "search_count", [], {"domain": login}),
            ("execute", "res.partner", "write", [self.partner.id], vals),
        )
        for method, *call in calls:
            with (
                self.subTest(method=method),
                mute_logger("odoo.addons.rpc.controllers.jsonrpc"),
                self.refused(),
            ):
                response = self.url_open(
                    "/jsonrpc",
                    data=json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "method": "call",
                            "id": 1,
                            "params": {
                                "service": "object",
                                "method": method,
                                "args": [
                                    self.env.cr.dbname,
                                    self.admin_user.id,
                                    token,
                                    *call,
                                ],
                            },
                        }
                    ),
                    headers={"Content-Type": "application/json"},
                )
                error = response.json()["error"]["data"]
                self.assertEqual(error["name"], "odoo.exceptions.AccessError")
                self.assertIn("res.users", error["message"])
        self.assertEqual(self.target.login, "ig_reach_target")


@tagged("post_install", "-at_install")
class TestReachedReads(ReachCase):
    def setUp(self):
        super().setUp()
        self.token = self.partner_key("*")

    def assertReadRefused(self, method, **params):
        with self.refused():
            response = self.json2(self.token, "res.partner", method, **params)
        self.assertDenied(response, f"res.partner.{method}", "read res.users")

    def test_web_read_specification(self):
        self.assertReadRefused(
            "web_read",
            ids=[self.target.partner_id.id],
            specification={"user_ids": {"fields": {"login": {}, "group_ids": {}}}},
        )

    def test_web_search_read_specification(self):
        self.assertReadRefused(
            "web_search_read",
            domain=[("id", "=", self.target.partner_id.id)],
            specification={"user_ids": {"fields": {"login": {}}}},
        )

    def test_group_by_paths(self):
        self.partner.user_id = self.target
        for method in ("formatted_read_group", "web_read_group"):
            with self.subTest(method=method):
                self.assertReadRefused(method, domain=[], groupby=["user_id.login"])

    def test_group_values_specification(self):
        self.partner.user_id = self.target
        self.assertReadRefused(
            "web_read_group",
            domain=[("id", "=", self.partner.id)],
            groupby=["user_id"],
            groupby_read_specification={"user_id": {"login": {}}},
        )

    def test_paths_odoo_rejects_are_refused_first(self):
        """Odoo 19 itself rejects a dotted path in read_group's group-by, in
        aggregates and in an order, with a server error: the policy refuses
        them first, with a 403 that says why."""
        for method, params in (
            ("read_group", {"fields": ["id:count"], "groupby": ["user_id.login"]}),
            ("formatted_read_group", {"aggregates": ["user_id.login:count_distinct"]}),
            ("search_read", {"fields": ["name"], "order": "user_id.login"}),
        ):
            with self.subTest(method=method, params=params):
                self.assertReadRefused(method, domain=[], **params)

    def test_export_data_path(self):
        self.assertReadRefused(
            "export_data",
            ids=[self.target.partner_id.id],
            fields_to_export=["name", "user_ids/login"],
        )

    def test_domain_paths(self):
        self.assertReadRefused(
            "search_read",
            domain=[("user_ids.login", "=", self.target.login)],
            fields=["name"],
        )
        self.assertReadRefused(
            "search_count",
            domain=[("user_ids", "any", [("login", "=like", "ig_%")])],
        )

    def test_allowed_reads_pass(self):
        response = self.json2(
            self.token,
            "res.partner",
            "web_search_read",
            domain=[("id", "=", self.partner.id)],
            specification={"name": {}, "child_ids": {"fields": {"name": {}}}},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["records"][0]["name"], "Policy Partner")

    def test_fields_through_a_reference(self):
        """The model a reference field reads depends on each record: such a
        read cannot be checked, and is refused."""
        activity = self.target.partner_id.activity_schedule(
            "mail.mail_activity_data_todo", user_id=self.admin_user.id
        )
        token = self.admin_key(("mail.activity", "*"))
        with self.refused():
            response = self.json2(
                token,
                "mail.activity",
                "web_read",
                ids=activity.ids,
                specification={"res_id": {"fields": {"email": {}, "user_ids": {}}}},
            )
        self.assertDenied(response, "cannot be checked", "'res_id'")

    def test_malformed_commands_are_refused(self):
        token = self.partner_key("*")
        with self.refused():
            response = self.json2(
                token,
                "res.partner",
                "write",
                ids=[self.partner.id],
                vals={"name": "Malformed", "child_ids": [[9, 1]]},
            )
        self.assertDenied(response, "cannot be checked")
        self.assertEqual(self.partner.name, "Policy Partner")

    def test_model_name_argument(self):
        token = self.admin_key(("mail.activity", "*"))
        with self.refused():
            response = self.json2(
                token,
                "mail.activity",
                "get_activity_data",
                res_model="res.users",
                domain=[("login", "=", self.target.login)],
            )
        self.assertDenied(response, "mail.activity.get_activity_data", "read res.users")


@tagged("post_install", "-at_install")
class TestApiKeysUnreachable(ReachCase):
    """Whatever its policy allows, a key never changes API keys."""

    def test_policy_removed_through_api_key_ids(self):
        policy = self.make_policy("Users", ("res.users", "read, write"))
        token, key = self.make_key(policy, user=self.admin_user)
        with self.refused():
            response = self.json2(
                token,
                "res.users",
                "write",
                ids=[self.admin_user.id],
                vals={"api_key_ids": [[1, key.id, {"integration_policy_id": False}]]},
            )
        self.assertDenied(response, "res.users.write", "res.users.apikeys")
        self.assertEqual(key.integration_policy_id, policy)

    def test_every_rule_allowed_still_refuses(self):
        token, key = self.make_key(
            self.make_policy("Everything", ("*", "*")), user=self.admin_user
        )
        with self.refused():
            response = self.json2(
                token,
                "res.users",
                "write",
                ids=[self.admin_user.id],
                vals={"api_key_ids": [[1, key.id, {"integration_policy_id": False}]]},
            )
        self.assertDenied(response, "never write res.users.apikeys")
        self.assertTrue(key.integration_policy_id)

    def test_direct_write_is_refused(self):
        token, key = self.make_key(
            self.make_policy("Everything", ("*", "*")), user=self.admin_user
        )
        with self.refused():
            response = self.json2(
                token,
                "res.users.apikeys",
                "write",
                ids=[key.id],
                vals={"integration_policy_id": False},
            )
        self.assertDenied(response, "never write res.users.apikeys")
        self.assertTrue(key.integration_policy_id)
        with self.refused():
            response = self.json2(token, "res.users.apikeys", "unlink", ids=[key.id])
        self.assertDenied(response, "never write res.users.apikeys")
        self.assertTrue(key.exists())

    def test_keys_without_policy_are_refused_too(self):
        """A key without a policy keeps Odoo's behaviour, except that it
        changes no key, over JSON/2 and legacy RPC alike."""
        token, key = self.make_key(user=self.admin_user)
        with mute_logger("odoo.http"):
            response = self.json2(
                token,
                "res.users.apikeys",
                "write",
                ids=[key.id],
                vals={"integration_policy_id": self.partners_policy.id},
            )
        self.assertDenied(response, "cannot be created, changed or removed")
        with (
            mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc"),
            self.assertRaises(xmlrpc.client.Fault) as caught,
        ):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.admin_user.id,
                token,
                "res.users",
                "write",
                [
                    [self.admin_user.id],
                    {
                        "api_key_ids": [
                            [
                                1,
                                key.id,
                                {"integration_policy_id": self.partners_policy.id},
                            ]
                        ]
                    },
                ],
            )
        self.assertIn(
            "cannot be created, changed or removed", caught.exception.faultString
        )
        self.assertFalse(key.integration_policy_id)

    def test_keys_stay_readable(self):
        token, key = self.make_key(
            self.make_policy("Everything", ("*", "*")), user=self.admin_user
        )
        response = self.json2(
            token, "res.users.apikeys", "read", ids=[key.id], fields=["name"]
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()[0]["name"], "test key")


@tagged("post_install", "-at_install")
class TestReachAllowed(ReachCase):
    """What the policy allows through relational fields still works, side
    effects of Odoo's own code included (followers, computed fields)."""

    def test_country_created_with_states(self):
        token = self.admin_key(
            ("res.country, res.country.state", "create, read, write, web_save")
        )
        response = self.json2(
            token,
            "res.country",
            "create",
            vals_list=[
                {
                    "name": "Reachland",
                    "code": "RQ",
                    "state_ids": [
                        [0, 0, {"name": "North", "code": "N"}],
                        [0, 0, {"name": "South", "code": "S"}],
                    ],
                }
            ],
        )
        self.assertEqual(response.status_code, 200, response.text)
        country = self.env["res.country"].browse(response.json())
        self.assertEqual(country.state_ids.mapped("code"), ["N", "S"])
        response = self.json2(
            token,
            "res.country",
            "web_save",
            ids=country.ids,
            vals={"state_ids": [[1, country.state_ids[0].id, {"name": "Nord"}]]},
            specification={"state_ids": {"fields": {"name": {}}}},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(country.state_ids[0].name, "Nord")

    def test_partner_created_with_contacts(self):
        token, _key = self.make_key(
            self.make_policy("Contacts", ("res.partner", "create, read, write"))
        )
        response = self.json2(
            token,
            "res.partner",
            "create",
            vals_list=[
                {
                    "name": "Reach Company",
                    "is_company": True,
                    "child_ids": [[0, 0, {"name": "Reach Contact"}]],
                }
            ],
        )
        self.assertEqual(response.status_code, 200, response.text)
        company = self.env["res.partner"].browse(response.json())
        self.assertEqual(company.child_ids.name, "Reach Contact")
