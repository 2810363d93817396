"""Endpoint URLs: one spelling per address, and which URLs are one endpoint.

Webhook actions find their endpoint by URL. Typed by people, the same
address comes in several spellings (``HTTPS://Shop.example.com:443/hook``,
``https://shop.example.com/hook/``); each would otherwise make an endpoint
of its own, with its own secret and settings. :func:`normalize_url` gives
the one spelling an endpoint stores (scheme and host in lower case, no
default port, ``/`` for an empty path, no fragment - never sent);
:func:`endpoint_key` also ignores a trailing slash, so that an action whose
URL differs from an endpoint's by that slash alone uses that endpoint.

>>> normalize_url(" HTTPS://Shop.Example.com:443/Hook/?a=1#top ")
'https://shop.example.com/Hook/?a=1'
>>> endpoint_key("https://shop.example.com/hook/") == endpoint_key(
...     "https://SHOP.example.com:443/hook")
True
"""

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url):
    """The spelling an endpoint stores for ``url``; text that is no URL
    comes back stripped, for the URL check to refuse.

    >>> normalize_url("http://[::1]:8080")
    'http://[::1]:8080/'
    >>> normalize_url("https://user@Example.com:8443/a%2Fb")
    'https://user@example.com:8443/a%2Fb'
    >>> normalize_url("not a url")
    'not a url'
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return text
    host = parts.hostname  # urlsplit gives it in lower case
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def endpoint_key(url):
    """What two URLs of one endpoint have in common: the normalized URL
    without a trailing slash on its path.

    >>> endpoint_key("https://example.com/") == endpoint_key("https://example.com")
    True
    >>> endpoint_key("https://example.com/a") == endpoint_key("https://example.com/b")
    False
    """
    normalized = normalize_url(url)
    try:
        parts = urlsplit(normalized)
    except ValueError:
        return normalized
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
