"""lib.api_policy: pattern rules, deny wins, read-only, networks, lifetimes."""

import datetime
import doctest

import pytest

from odoo.addons.integration_gateway.lib import api_policy, networks


def policy(*rules, **options):
    """A policy named 'p' from (model patterns, method patterns, effect)."""
    return api_policy.Policy(
        id=1,
        name="p",
        rules=tuple(api_policy.make_rule(*rule) for rule in rules),
        **options,
    )


def check(pol, model="res.partner", method="read", readonly=True, **kwargs):
    kwargs.setdefault("address", "127.0.0.1")
    return api_policy.check(
        pol, model=model, method=method, readonly_method=readonly, **kwargs
    )


def test_parse_patterns_splits_and_strips():
    assert api_policy.parse_patterns(" sale.* , res.partner ") == (
        "sale.*",
        "res.partner",
    )


@pytest.mark.parametrize("text", ["", " , ", None])
def test_parse_patterns_refuses_an_empty_list(text):
    with pytest.raises(ValueError, match="at least one pattern"):
        api_policy.parse_patterns(text)


def test_parse_patterns_names_the_bad_pattern():
    with pytest.raises(ValueError, match="'res partner' is not a model"):
        api_policy.parse_patterns("sale.order, res partner")


def test_make_rule_refuses_an_unknown_effect():
    with pytest.raises(ValueError, match="'maybe' is not"):
        api_policy.make_rule("*", "*", "maybe")


def test_glob_matches_nested_names_case_sensitively():
    rule = api_policy.make_rule("sale.*", "search_*", "allow")
    assert rule.matches("sale.order.line", "search_read")
    assert not rule.matches("Sale.order", "search_read")
    assert not rule.matches("sale", "search_read")
    assert not rule.matches("sale.order", "read")


def test_any_pattern_of_a_list_matches():
    rule = api_policy.make_rule("res.partner, sale.*", "read, search_read", "allow")
    assert rule.matches("res.partner", "read")
    assert rule.matches("sale.order", "search_read")
    assert not rule.matches("res.users", "read")


def test_no_matching_rule_denies():
    pol = policy(("sale.*", "*", "allow"))
    check(pol, model="sale.order")
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(pol, model="res.partner")
    assert denied.value.reason == api_policy.REASON_NO_RULE
    assert denied.value.message == "no rule allows it"


def test_a_policy_without_rules_denies_everything():
    with pytest.raises(api_policy.PolicyDenied):
        check(policy())


def test_deny_wins_whatever_the_order():
    allow_all = ("*", "*", "allow")
    deny_unlink = ("*", "unlink", "deny")
    for rules in ((allow_all, deny_unlink), (deny_unlink, allow_all)):
        pol = policy(*rules)
        check(pol, method="write", readonly=False)
        with pytest.raises(api_policy.PolicyDenied, match="a rule denies it") as denied:
            check(pol, method="unlink", readonly=False)
        assert denied.value.reason == api_policy.REASON_DENY_RULE


def test_read_only_admits_only_readonly_methods():
    pol = policy(("*", "*", "allow"), read_only=True)
    check(pol, method="search_read", readonly=True)
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(pol, method="write", readonly=False)
    assert denied.value.reason == api_policy.REASON_READ_ONLY


def test_read_only_admits_fields_get():
    """Odoo does not mark fields_get read-only; it reads metadata only."""
    pol = policy(("*", "*", "allow"), read_only=True)
    check(pol, method="fields_get", readonly=False)


def test_read_only_does_not_widen_the_rules():
    pol = policy(("res.partner", "*", "allow"), read_only=True)
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(pol, model="res.users", method="read", readonly=True)
    assert denied.value.reason == api_policy.REASON_NO_RULE


def test_networks_restrict_the_client_address():
    pol = policy(("*", "*", "allow"), networks=networks.parse_networks("10.0.0.0/8"))
    check(pol, address="10.1.2.3")
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(pol, address="192.0.2.1")
    assert denied.value.reason == api_policy.REASON_NETWORK
    assert "192.0.2.1" in denied.value.message


def test_legacy_rpc_needs_the_policy_to_allow_it():
    pol = policy(("*", "*", "allow"))
    check(pol)
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(pol, legacy_rpc=True)
    assert denied.value.reason == api_policy.REASON_LEGACY_RPC
    allowed = policy(("res.partner", "*", "allow"), allow_legacy_rpc=True)
    check(allowed, legacy_rpc=True)
    # the rules still apply to legacy calls
    with pytest.raises(api_policy.PolicyDenied) as denied:
        check(allowed, model="res.users", legacy_rpc=True)
    assert denied.value.reason == api_policy.REASON_NO_RULE


def test_check_network_and_legacy_rpc_alone():
    fenced = policy(networks=networks.parse_networks("10.0.0.0/8"))
    api_policy.check_network(fenced, "10.0.0.1")
    with pytest.raises(api_policy.PolicyDenied):
        api_policy.check_network(fenced, "127.0.0.1")
    api_policy.check_legacy_rpc(policy(allow_legacy_rpc=True))
    with pytest.raises(api_policy.PolicyDenied):
        api_policy.check_legacy_rpc(policy())


@pytest.mark.parametrize(
    "path, call",
    [
        ("/doc-bearer/index.json", ("ir.model", "search_read")),
        ("/doc-bearer/res.partner.json", ("res.partner", "fields_get")),
        ("/doc-bearer/.json", None),
        ("/json/1/odoo/contacts", None),
    ],
)
def test_route_call(path, call):
    assert api_policy.route_call(path) == call


def test_key_expiry_takes_the_earlier_of_expiry_and_lifetime():
    created = datetime.datetime(2025, 1, 1)
    later = datetime.datetime(2026, 1, 1)
    assert api_policy.key_expiry(later, created, 0) == later
    assert api_policy.key_expiry(None, created, 0) is None
    assert api_policy.key_expiry(later, created, 30) == datetime.datetime(2025, 1, 31)
    assert api_policy.key_expiry(None, created, 30) == datetime.datetime(2025, 1, 31)
    soon = datetime.datetime(2025, 1, 2)
    assert api_policy.key_expiry(soon, created, 30) == soon


def test_api_key_expired():
    now = datetime.datetime(2025, 6, 1)
    key = api_policy.ApiKey(1, 2, None, None, datetime.datetime(2025, 5, 31))
    assert key.expired(now)
    assert not api_policy.ApiKey(1, 2, None).expired(now)
    with pytest.raises(AttributeError):
        key.policy_id = 3  # immutable: shared between requests


def test_lifetime_error():
    now = datetime.datetime(2025, 1, 1)
    assert api_policy.lifetime_error(None, now, 0) is None
    assert "set an expiry" in str(api_policy.lifetime_error(None, now, 30))
    assert api_policy.lifetime_error(now + datetime.timedelta(days=30), now, 30) is None
    assert "at most 30 days" in str(
        api_policy.lifetime_error(now + datetime.timedelta(days=31), now, 30)
    )


@pytest.mark.parametrize(
    ("value", "policy_id"),
    [
        (False, None),
        (None, None),
        ("", None),
        (" \n", None),
        ("0", None),
        ("13", 13),
        ("13\n", 13),
        (" 13 ", 13),
        ("13x", api_policy.UNREADABLE_POLICY_ID),
        ("+13", api_policy.UNREADABLE_POLICY_ID),
        ("1_3", api_policy.UNREADABLE_POLICY_ID),
        ("١٣", api_policy.UNREADABLE_POLICY_ID),
        ("False", api_policy.UNREADABLE_POLICY_ID),
    ],
)
def test_policy_id_setting_is_parsed_one_way(value, policy_id):
    """Whitespace around a number is ignored; anything else that is not
    empty fails closed (the unreadable id, which no policy has)."""
    assert api_policy.parse_policy_id(value) == policy_id


def test_doctests():
    assert doctest.testmod(api_policy).failed == 0


def test_every_reason_says_what_to_do():
    reasons = {
        value for name, value in vars(api_policy).items() if name.startswith("REASON_")
    }
    assert reasons == set(api_policy.HINTS)
