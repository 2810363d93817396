"""Limit items: ``"100/minute; 5000/hour"`` parsed once into :class:`Limit`
tuples, as the ``limits`` library does.

>>> [str(limit) for limit in parse_limits("100/minute; 5000/hour")]
['100/minute', '5000/hour']
"""

import functools
import re
from typing import NamedTuple

from ..messages import Refusal, _lt

UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
}
UNIT_ALIASES = {
    "s": "second",
    "sec": "second",
    "m": "minute",
    "min": "minute",
    "h": "hour",
    "hr": "hour",
    "d": "day",
}
_LIMIT_RE = re.compile(
    r"^(?P<quantity>\d+)\s*(?:/|\bper\b)\s*(?P<multiple>\d+)?\s*(?P<unit>[a-z]+)$",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[;,\n]")


class Limit(NamedTuple):
    """At most ``quantity`` calls in any ``seconds`` seconds; ``name`` is
    how the limit is called in headers and messages (``"minute"``)."""

    quantity: int
    seconds: int
    name: str

    def __str__(self):
        return f"{self.quantity}/{self.name}"


@functools.lru_cache(maxsize=512)
def parse_limits(text):
    """Parses ``"100/minute; 5000/hour"`` into a tuple of :class:`Limit`,
    shortest period first. Items are separated by ``;``, ``,`` or new lines
    and read ``<quantity>/<unit>``, ``<quantity>/<n> <unit>s`` or
    ``<quantity> per <unit>``; units are second, minute, hour, day (plurals
    and s, m, h, d accepted). Empty text means no limit: ``()``.

    Raises ValueError naming the item that cannot be read.
    """
    limits = {}
    for item in _SEPARATORS.split(text or ""):
        item = item.strip()
        if not item:
            continue
        limit = _parse_limit(item)
        if limit.seconds in limits:
            raise Refusal(
                _lt("%(item)s and %(other)s limit the same period"),
                item=repr(item),
                other=repr(str(limits[limit.seconds])),
            )
        limits[limit.seconds] = limit
    return tuple(limits[seconds] for seconds in sorted(limits))


def _parse_limit(item):
    match = _LIMIT_RE.match(item)
    unit = match and match["unit"].lower()
    unit = unit and UNIT_ALIASES.get(unit, unit.removesuffix("s"))
    if not match or unit not in UNITS:
        raise Refusal(
            _lt(
                "%(item)s is not a rate limit: write it like 100/minute, "
                "5000/hour or 10/15 minutes"
            ),
            item=repr(item),
        )
    quantity = int(match["quantity"])
    multiple = int(match["multiple"] or 1)
    if quantity < 1 or multiple < 1:
        raise Refusal(
            _lt("%(item)s: the quantity and the period must be positive"),
            item=repr(item),
        )
    name = unit if multiple == 1 else f"{multiple} {unit}s"
    return Limit(quantity, multiple * UNITS[unit], name)
