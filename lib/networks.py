"""Network checks: CIDR lists, client addresses behind a proxy, and which
addresses an outgoing request must not reach (SSRF)."""

import ipaddress

from .messages import Refusal, _lt

# Addresses that are never a public destination. ``is_global`` already
# excludes private, loopback, link-local (169.254.0.0/16, where cloud
# metadata services answer), shared (100.64.0.0/10) and reserved ranges;
# these are named again for clarity of the message and for IPv4-mapped IPv6.
CLOUD_METADATA = (
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
)


# IPv6 addresses that reach an IPv4 address written into them: NAT64's
# well-known prefix (RFC 6052) is translated by a gateway to the IPv4
# address in its last 32 bits.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(text):
    """Parses a comma-, space- or newline-separated list of CIDR networks or
    single addresses. Returns a tuple of ``ip_network``; raises ValueError
    naming the first bad entry. Empty text gives an empty tuple."""
    networks = []
    for entry in (text or "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise Refusal(
                _lt("%(entry)s is not an IP address or CIDR network"), entry=repr(entry)
            ) from exc
    return tuple(networks)


def address_in(address, networks):
    """True when ``address`` (text or ip_address) is in one of ``networks``.
    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) count as IPv4."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def client_address(remote_addr, forwarded_for=None, proxy_mode=False):
    """The address of the client of a request.

    Behind a reverse proxy (``proxy_mode``), it is the last address of
    ``X-Forwarded-For``: the one the proxy itself appended, which a client
    cannot forge. Without ``proxy_mode`` the header is ignored.
    """
    if proxy_mode and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if _is_address(last):
            return last
    return remote_addr


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def forbidden_destination(address):
    """Why an outgoing request must not connect to ``address``, or None.

    Refuses loopback, private, link-local, cloud metadata and every other
    non-global address.
    """
    ip = embedded_ipv4(ipaddress.ip_address(address))
    if ip in CLOUD_METADATA:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private network address"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public internet address"
    return None


def embedded_ipv4(ip):
    """The IPv4 address that the IPv6 address ``ip`` stands for (IPv4-mapped,
    6to4, Teredo's client, NAT64), so that it is checked as that address;
    ``ip`` itself otherwise."""
    if ip.version != 6:
        return ip
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip
