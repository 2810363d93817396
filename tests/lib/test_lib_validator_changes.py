"""lib.validator_changes: which changes of a validator's settings make it
accept more."""

import doctest

import pytest

from odoo.addons.integration_gateway.lib import validator_changes
from odoo.addons.integration_gateway.lib.validator_changes import weakened


def test_doctests():
    assert doctest.testmod(validator_changes).failed == 0


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("signature_scheme", "standard_webhooks", "none"),
        ("signature_scheme", "stripe", "github"),
        ("secret", "a", "b"),
        ("secret", "a", False),
        ("secondary_secret", False, "b"),
        ("signature_algorithm", "sha512", "sha256"),
        ("signature_algorithm", "sha256", "sha1"),
        ("timestamp_tolerance", 300, 301),
        ("message_id_header", "X-Id", "X-Other"),
        ("replay_protection", True, False),
        ("replay_window", 24, 23),
        ("json_schema", '{"type": "object"}', False),
        ("json_schema", '{"type": "object"}', '{"type": "array"}'),
        ("max_body_bytes", 1024, 1025),
        ("allowed_content_types", "application/json", "application/*"),
        ("allowed_content_types", "application/json", ""),
        ("allowed_networks", "10.0.0.0/8", "10.0.0.0/7"),
        ("allowed_networks", "10.0.0.0/8", "::/0"),
        ("allowed_networks", "10.0.0.0/8", False),
        ("rate_limit", "100/minute", ""),
        ("rate_limit", "100/minute", "101/minute"),
        ("rate_limit", "100/minute", "100/30s"),
        ("rate_limit", "100/minute; 1000/hour", "100/minute"),
    ],
)
def test_loosening(field, old, new):
    assert weakened({field: old}, {field: new}) == [field]


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("signature_scheme", "none", "standard_webhooks"),
        ("signature_scheme", False, "stripe"),
        ("secret", "a", "a"),
        ("signature_algorithm", "sha1", "sha512"),
        ("signature_algorithm", False, "sha256"),
        ("timestamp_tolerance", 300, 60),
        ("message_id_header", "X-Id", " X-Id "),
        ("message_id_header", False, ""),
        ("replay_protection", False, True),
        ("replay_window", 24, 48),
        ("json_schema", False, '{"type": "object"}'),
        ("max_body_bytes", 1024, 512),
        ("allowed_content_types", "", "application/json"),
        ("allowed_content_types", "application/json text/plain", "application/json"),
        ("allowed_networks", "", "192.0.2.0/24"),
        ("allowed_networks", "10.0.0.0/8, 2001:db8::/32", "10.9.0.0/16 2001:db8::1"),
        ("rate_limit", "", "10/minute"),
        ("rate_limit", "100/minute", "100/hour"),
        ("rate_limit", "100/minute", "50/minute; 500/day"),
    ],
)
def test_tightening_or_no_change(field, old, new):
    assert weakened({field: old}, {field: new}) == []


def test_other_fields_and_missing_ones_are_left_alone():
    assert weakened({}, {"name": "Shop", "signature_header": "X-Other"}) == []
    assert weakened({"timestamp_tolerance": 300}, {}) == []
    assert weakened(
        {"timestamp_tolerance": 300, "replay_protection": True},
        {"timestamp_tolerance": 600, "replay_protection": False, "name": "x"},
    ) == ["replay_protection", "timestamp_tolerance"]
