"""lib.networks: CIDR lists, client addresses, forbidden destinations."""

import ipaddress

import pytest

from odoo.addons.integration_gateway.lib import networks


def test_parse_networks_accepts_cidrs_and_addresses_in_any_separator():
    parsed = networks.parse_networks("10.0.0.0/8, 192.168.1.7\n2001:db8::/32")
    assert parsed == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert networks.parse_networks("") == ()
    assert networks.parse_networks(None) == ()


def test_parse_networks_names_the_bad_entry():
    with pytest.raises(ValueError, match="'10.0.0.300' is not an IP address"):
        networks.parse_networks("10.0.0.0/8, 10.0.0.300")


def test_address_in():
    nets = networks.parse_networks("10.0.0.0/8 2001:db8::/32")
    assert networks.address_in("10.1.2.3", nets)
    assert networks.address_in("::ffff:10.1.2.3", nets)
    assert networks.address_in("2001:db8::1", nets)
    assert not networks.address_in("11.0.0.1", nets)
    assert not networks.address_in("not an address", nets)
    assert not networks.address_in("10.1.2.3", ())


def test_client_address_trusts_forwarded_for_only_in_proxy_mode():
    assert networks.client_address("127.0.0.1", "203.0.113.9", False) == "127.0.0.1"
    assert networks.client_address("127.0.0.1", "203.0.113.9", True) == "203.0.113.9"
    # The client may send its own X-Forwarded-For; the proxy appends the
    # real address last.
    forged = "10.0.0.1, 203.0.113.9"
    assert networks.client_address("127.0.0.1", forged, True) == "203.0.113.9"
    assert networks.client_address("127.0.0.1", "garbage", True) == "127.0.0.1"
    assert networks.client_address("127.0.0.1", None, True) == "127.0.0.1"


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.10", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
        ("2002:c0a8:1::1", "private"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),
        ("100.64.0.1", "not a public"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "not a public"),
    ],
)
def test_forbidden_destinations(address, reason):
    assert reason in networks.forbidden_destination(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8", "64:ff9b::808:808"],
)
def test_public_destinations_are_allowed(address):
    assert networks.forbidden_destination(address) is None
