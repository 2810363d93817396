"""lib.api_reach: the models and operations a call reaches through its
arguments, and how a policy's method rules apply to them."""

import doctest

import pytest

from odoo.addons.integration_gateway.lib import api_policy, api_reach
from odoo.addons.integration_gateway.lib.api_reach import (
    CREATE,
    READ,
    UNLINK,
    WRITE,
    FieldInfo,
)

# A small schema in the shape of Odoo's: partners with users and children,
# users delegating to partners (_inherits), keys of users, order lines that
# cascade with their order.
FIELDS = {
    "res.partner": {
        "name": FieldInfo("char"),
        "user_ids": FieldInfo("one2many", "res.users"),
        "child_ids": FieldInfo("one2many", "res.partner"),
        "parent_id": FieldInfo("many2one", "res.partner"),
        "category_id": FieldInfo("many2many", "res.partner.category"),
        "country_id": FieldInfo("many2one", "res.country"),
        "country_code": FieldInfo("char", related_model="res.country"),
    },
    "res.users": {
        "login": FieldInfo("char"),
        "name": FieldInfo("char", delegate="res.partner"),
        "partner_id": FieldInfo("many2one", "res.partner"),
        "group_ids": FieldInfo("many2many", "res.groups"),
        "api_key_ids": FieldInfo("one2many", "res.users.apikeys", cascade=True),
    },
    "mail.activity": {
        "res_model": FieldInfo("char"),
        "res_id": FieldInfo("many2one_reference"),
    },
    "res.users.apikeys": {
        "name": FieldInfo("char"),
        "integration_policy_id": FieldInfo("many2one", "integration.api.policy"),
    },
    "res.groups": {"name": FieldInfo("char")},
    "res.country": {"code": FieldInfo("char")},
    "res.partner.category": {"name": FieldInfo("char")},
    "sale.order": {
        "name": FieldInfo("char"),
        "partner_id": FieldInfo("many2one", "res.partner"),
        "order_line": FieldInfo("one2many", "sale.order.line", cascade=True),
    },
    "sale.order.line": {
        "name": FieldInfo("char"),
        "order_id": FieldInfo("many2one", "sale.order"),
    },
}


def reach(root, method, /, **arguments):
    context = arguments.pop("context", None)
    has_ids = arguments.pop("has_ids", False)
    return api_reach.reach(
        root, method, arguments, FIELDS.get, context=context, has_ids=has_ids
    )


def policy(*rules, **options):
    return api_policy.Policy(
        id=1,
        name="p",
        rules=tuple(
            api_policy.make_rule(model, method, effect)
            for model, method, effect, *_ in (rule + ("allow",) for rule in rules)
        ),
        **options,
    )


# -- values and relational commands


def test_plain_values_reach_nothing_beyond_the_method():
    assert reach("res.partner", "write", vals={"name": "x"}) == set()


def test_x2many_commands_name_their_operation():
    vals = {
        "user_ids": [
            (0, 0, {"login": "new"}),
            (1, 7, {"login": "changed"}),
            (2, 8),
        ]
    }
    assert reach("res.partner", "write", vals=vals) == {
        ("res.users", CREATE),
        ("res.users", WRITE),
        ("res.users", UNLINK),
    }


def test_nested_commands_are_followed():
    vals = {"user_ids": [[1, 7, {"group_ids": [[0, 0, {"name": "Admins"}]]}]]}
    assert reach("res.partner", "write", vals=vals) == {
        ("res.users", WRITE),
        ("res.groups", CREATE),
    }


def test_many2many_links_change_only_the_record_written():
    vals = {"category_id": [(4, 3), (3, 4), (6, 0, [1, 2]), (5,)]}
    assert reach("res.partner", "write", vals=vals) == set()
    assert reach("res.partner", "write", vals={"category_id": [1, 2]}) == set()


def test_one2many_links_write_the_comodel():
    assert reach("res.partner", "write", vals={"child_ids": [(4, 3)]}) == {
        ("res.partner", WRITE)
    }
    # a record taken out of a cascading one2many is deleted
    assert reach("res.users", "write", vals={"api_key_ids": [(3, 1)]}) == {
        ("res.users.apikeys", WRITE),
        ("res.users.apikeys", UNLINK),
    }
    # creating, nothing is taken out
    assert reach("sale.order", "create", vals_list=[{"order_line": [(6, 0, [])]}]) == {
        ("sale.order.line", WRITE)
    }


def test_create_and_copy_values_are_creations():
    vals_list = [{"user_ids": [(0, 0, {"login": "a"})]}, {"name": "plain"}]
    assert reach("res.partner", "create", vals_list=vals_list) == {
        ("res.users", CREATE)
    }
    assert reach("res.partner", "copy", default={"user_ids": [(1, 2, {})]}) == {
        ("res.users", WRITE)
    }


def test_delegated_and_related_fields_write_their_model():
    assert reach("res.users", "write", vals={"name": "x"}) == {("res.partner", WRITE)}
    assert reach("res.users", "create", vals_list=[{"name": "x"}]) == {
        ("res.partner", CREATE)
    }
    assert reach("res.partner", "write", vals={"country_code": "BE"}) == {
        ("res.country", WRITE)
    }


def test_mail_gateway_values():
    commands = {"user_ids": [(0, 0, {"login": "x"})]}
    assert reach(
        "res.partner", "message_update", msg_dict={}, update_vals=commands
    ) == {("res.users", CREATE)}
    assert reach(
        "res.users", "message_new", msg_dict={}, custom_values={"name": "x"}
    ) == {("res.partner", CREATE)}


def test_web_save_creates_without_ids():
    vals = {"user_ids": [(0, 0, {"name": "x"})]}
    spec = {"user_ids": {"fields": {"login": {}}}}
    assert reach("res.partner", "web_save", vals=vals, specification=spec) == {
        ("res.users", CREATE),
        ("res.partner", CREATE),
        ("res.users", READ),
    }


def test_context_defaults_fill_created_records():
    context = {"default_group_ids": [(0, 0, {"name": "Sneaky"})]}
    assert reach("res.users", "create", vals_list=[{}], context=context) == {
        ("res.groups", CREATE)
    }
    # a record created further down gets them too
    assert reach(
        "res.partner",
        "write",
        vals={"user_ids": [(0, 0, {"login": "x"})]},
        context=context,
    ) == {("res.users", CREATE), ("res.groups", CREATE)}


def test_onchange_values_are_not_saved():
    assert (
        reach(
            "res.partner",
            "onchange",
            values={"user_ids": [(0, 0, {})]},
            field_names=[],
            fields_spec={},
        )
        == set()
    )


@pytest.mark.parametrize(
    "value",
    ["not commands", [(9, 0)], [("0", 0, {})], ["x"], [[]]],
)
def test_unknown_commands_cannot_be_analysed(value):
    with pytest.raises(api_reach.Unanalysable):
        reach("res.partner", "write", vals={"user_ids": value})


def test_depth_is_bounded():
    vals = {"name": "leaf"}
    for _i in range(api_reach.MAX_DEPTH + 2):
        vals = {"child_ids": [(0, 0, vals)]}
    with pytest.raises(api_reach.Unanalysable):
        reach("res.partner", "create", vals_list=[vals])


def test_values_odoo_refuses_are_left_to_it():
    assert reach("res.partner", "write", vals="nope") == set()
    assert reach("res.partner", "write", vals={"no_such_field": [(2, 1)]}) == set()


# -- reads


def test_read_specification():
    spec = {
        "name": {},
        "parent_id": {},
        "user_ids": {"fields": {"login": {}, "group_ids": {"fields": {}}}},
    }
    assert reach("res.partner", "web_read", specification=spec) == {
        ("res.users", READ),
        ("res.groups", READ),
    }


def test_fields_read_through_a_reference_cannot_be_analysed():
    spec = {"res_model": {}, "res_id": {}}
    assert reach("mail.activity", "web_read", specification=spec) == set()
    spec = {"res_id": {"fields": {"login": {}}}}
    with pytest.raises(api_reach.Unanalysable):
        reach("mail.activity", "web_read", specification=spec)


def test_domain_paths_and_sub_domains():
    assert reach("res.partner", "search", domain=[("user_ids.login", "=", "x")]) == {
        ("res.users", READ)
    }
    domain = [
        "|",
        ("name", "=", "x"),
        ("user_ids", "any", [("group_ids.name", "=", "y")]),
    ]
    assert reach("res.partner", "search_count", domain=domain) == {
        ("res.users", READ),
        ("res.groups", READ),
    }
    # compared by name, the comodel's names are searched
    assert reach("res.partner", "search", domain=[("user_ids", "ilike", "adm")]) == {
        ("res.users", READ)
    }
    assert reach("res.partner", "search", domain=[("user_ids", "in", [1, 2])]) == set()


def test_group_by_aggregate_and_order_paths():
    assert reach(
        "res.partner",
        "formatted_read_group",
        domain=[],
        groupby=["user_ids.login", "create_date:month"],
        aggregates=["country_id.code:count_distinct"],
        order="parent_id.name desc, id",
    ) == {("res.users", READ), ("res.country", READ), ("res.partner", READ)}
    assert reach(
        "res.partner",
        "read_group",
        domain=[],
        fields=["total:count_distinct(user_ids.login)"],
        groupby=[],
    ) == {("res.users", READ)}


def test_reopened_groups():
    opening_info = [
        {
            "value": 1,
            "groups": [
                {"value": 2, "progressbar_domain": [("user_ids.login", "=", "x")]}
            ],
        }
    ]
    assert reach(
        "res.partner",
        "web_read_group",
        domain=[],
        groupby=["parent_id", "country_id"],
        opening_info=opening_info,
    ) == {("res.users", READ)}


def test_group_values_read_specification():
    assert reach(
        "res.partner",
        "web_read_group",
        domain=[],
        groupby=["country_id"],
        groupby_read_specification={"country_id": {"code": {}}},
    ) == {("res.country", READ)}


def test_export_paths():
    assert reach(
        "res.partner",
        "export_data",
        fields_to_export=["name", "user_ids/login", "country_id/id", "user_ids/.id"],
    ) == {("res.users", READ)}


def test_import_paths():
    assert reach(
        "res.partner",
        "load",
        fields=["name", "user_ids/login", "country_id/id", "category_id"],
        data=[],
    ) == {
        ("res.users", CREATE),
        ("res.country", READ),
        ("res.partner.category", READ),
    }
    # sub-records named by id are updated
    assert reach(
        "sale.order",
        "load",
        fields=["order_line/id", "order_line/name"],
        data=[],
    ) == {("sale.order.line", CREATE), ("sale.order.line", WRITE)}
    assert reach("res.users", "load", fields=["login", "name"], data=[]) == {
        ("res.partner", CREATE),
        ("res.partner", WRITE),
    }
    context = {"name_create_enabled_fields": {"country_id": True}}
    assert reach(
        "res.partner", "load", fields=["country_id"], data=[], context=context
    ) == {("res.country", READ), ("res.country", CREATE)}


def test_import_wizard():
    assert api_reach.import_reach(
        {"res.users"}, ["login", False, "group_ids/name"], {}, FIELDS.get
    ) == {
        ("res.users", CREATE),
        ("res.users", WRITE),
        ("res.groups", CREATE),
    }
    options = {"name_create_enabled_fields": {"country_id": True}}
    assert api_reach.import_reach(
        {"res.partner"}, ["country_id"], options, FIELDS.get
    ) >= {("res.country", CREATE)}


def test_model_name_arguments():
    assert reach(
        "mail.activity",
        "get_activity_data",
        res_model="res.users",
        domain=[("group_ids.name", "=", "x")],
    ) == {("res.users", READ), ("res.groups", READ)}
    assert reach("res.partner", "message_process", model="res.users", message="") == {
        ("res.users", CREATE)
    }


# -- the policy


def test_operations_map_to_method_rules():
    pol = policy(
        ("res.partner", "read, write"),
        ("res.users", "search_read"),
        ("res.groups", "create, write"),
    )
    assert api_policy.operation_denial(pol, "res.users", READ) is None
    assert api_policy.operation_denial(pol, "res.groups", WRITE) is None
    assert "no rule allows res.groups.read or res.groups.search_read" in (
        api_policy.operation_denial(pol, "res.groups", READ)
    )
    assert "write res.users" in api_policy.operation_denial(pol, "res.users", WRITE)
    assert api_policy.operation_denial(pol, "res.partner", UNLINK)


def test_deny_wins_and_read_only_refuses_changes():
    pol = policy(("*", "*"), ("res.users", "search_read", "deny"))
    assert "which a rule denies" in api_policy.operation_denial(pol, "res.users", READ)
    read_only = policy(("*", "*"), read_only=True)
    assert api_policy.operation_denial(read_only, "res.users", READ) is None
    assert "read-only" in api_policy.operation_denial(read_only, "res.users", CREATE)


def test_api_keys_are_never_changed_whatever_the_rules():
    pol = policy(("*", "*"))
    assert api_policy.operation_denial(pol, "res.users.apikeys", READ) is None
    for operation in (CREATE, WRITE, UNLINK):
        assert "never" in api_policy.operation_denial(
            pol, "res.users.apikeys", operation
        )
    with pytest.raises(api_policy.PolicyDenied) as denied:
        api_policy.check_reach(
            pol,
            reach(
                "res.users",
                "write",
                vals={"api_key_ids": [(1, 5, {"integration_policy_id": False})]},
            ),
        )
    assert denied.value.reason == api_policy.REASON_REACH
    assert "res.users.apikeys" in denied.value.message


def test_check_reach_allows_what_the_rules_allow():
    pol = policy(("sale.order, sale.order.line", "create, read, write"))
    api_policy.check_reach(
        pol,
        reach(
            "sale.order",
            "create",
            vals_list=[{"order_line": [(0, 0, {"name": "line"})]}],
        ),
    )


def test_docstring_examples():
    for module in (api_reach, api_policy):
        assert doctest.testmod(module).failed == 0, module
