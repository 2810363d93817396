"""Limits on what an incoming webhook call may hold, free of the ORM.

Anyone who knows a webhook's URL can send it anything: a body framed by a
transfer coding instead of a length, bytes that are not UTF-8 or hold NUL,
a JSON document nested thousands of levels deep, headers of tens of
kilobytes. Each helper here turns one such input into a clear refusal (or a
harmless record) before it reaches a part that would fail on it: a body
read without bound, PostgreSQL (which refuses NUL in text), a recursive
JSON Schema validator, or a unique index (whose entries are limited to
about 2.7 kB).
"""

import ipaddress
from datetime import datetime, timedelta

READ_CHUNK = 64 * 1024  # bytes read from the request stream at a time
MAX_JSON_DEPTH = 64  # nesting levels of a JSON body; senders' events use < 10
MAX_MESSAGE_ID = 255  # characters of a sender's message id
# Refusals from one source for one webhook and reason are counted on one
# record per window rather than recorded one by one.
AGGREGATION_WINDOW = 10 * 60  # seconds
EPOCH = datetime(1970, 1, 1)
IPV6_SOURCE_PREFIX = 64  # an IPv6 client holds a whole /64 at least


class BodyTooLarge(Exception):
    """The body turned out longer than allowed while it was read; ``limit``
    is that length."""

    def __init__(self, limit):
        super().__init__(f"the body is longer than {limit} bytes")
        self.limit = limit


def has_transfer_coding(value):
    """True when a ``Transfer-Encoding`` header is present with any value.

    The length of such a body is not announced (a transfer coding overrides
    ``Content-Length``, RFC 9112 6.3), whatever the coding and whatever its
    case: ``chunked``, ``Chunked``, ``gzip, chunked``.

    >>> [has_transfer_coding(v) for v in (None, "", "chunked", "Chunked")]
    [False, False, True, True]
    """
    return bool((value or "").strip())


def read_capped(stream, limit):
    """Reads ``stream`` to its end, but no more than ``limit`` bytes.

    Returns the bytes; raises BodyTooLarge as soon as one byte more is
    available, without reading the rest. Streams may answer a read with
    fewer bytes than asked for (one chunk of a chunked body): reads go on
    until one returns nothing.

    >>> import io
    >>> read_capped(io.BytesIO(b"abc"), 3)
    b'abc'
    >>> read_capped(io.BytesIO(b"abcd"), 3)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    BodyTooLarge: the body is longer than 3 bytes
    """
    data = bytearray()
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge(limit)


def json_depth_exceeds(value, limit=MAX_JSON_DEPTH):
    """True when the parsed JSON ``value`` nests objects and arrays deeper
    than ``limit`` levels. Walks with a stack of its own, so that it cannot
    itself run out of Python's recursion limit, and stops at the first
    container too deep.

    >>> json_depth_exceeds({"a": [1, {"b": []}]}, 4)
    False
    >>> json_depth_exceeds({"a": [1, {"b": []}]}, 3)
    True
    """
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def message_id_problem(message_id, limit=MAX_MESSAGE_ID):
    """Why a sender's message id cannot be remembered, or None when it can.

    An id is stored in a unique index, which neither takes NUL nor entries
    of more than about 2.7 kB: longer ids and control characters are
    refused rather than hashed, since no sender uses them.

    >>> message_id_problem("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") is None
    True
    >>> message_id_problem("x" * 256)
    'the message id has 256 characters; at most 255 are accepted'
    >>> message_id_problem("a\\x00b")
    'the message id holds control characters'
    """
    if len(message_id) > limit:
        return (
            f"the message id has {len(message_id)} characters; at most {limit} "
            "are accepted"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in message_id):
        return "the message id holds control characters"
    return None


def printable(text):
    """``text`` as PostgreSQL stores it: NUL, which a text column refuses,
    is written ``\\x00``; lone surrogates (which cannot be encoded) are
    replaced.

    >>> printable("a\\x00b")
    'a\\\\x00b'
    """
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "replace").decode("utf-8")


def aggregation_source(address):
    """The source refusals are counted by: the client's address, or for
    IPv6 its /64 network (one client can use all of it).

    >>> aggregation_source("192.0.2.7")
    '192.0.2.7'
    >>> aggregation_source("2001:db8:1:2:3:4:5:6")
    '2001:db8:1:2::/64'
    >>> aggregation_source("unknown")
    'unknown'
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6 and parsed.ipv4_mapped is None:
        return str(
            ipaddress.ip_network(f"{address}/{IPV6_SOURCE_PREFIX}", strict=False)
        )
    return str(parsed)


def aggregation_window(when, seconds=AGGREGATION_WINDOW):
    """The start of the window of ``seconds`` (aligned on the Unix epoch)
    that the naive UTC datetime ``when`` falls in.

    >>> aggregation_window(datetime(2026, 12, 2, 20, 17, 42, 5))
    datetime.datetime(2026, 12, 2, 20, 10)
    """
    step = timedelta(seconds=seconds)
    return EPOCH + (when - EPOCH) // step * step
