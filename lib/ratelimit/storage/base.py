"""What every storage of rate-limit counters does: decide atomically,
count tallies, drain them, forget a key."""

from ..window import make_decision


class Storage:
    """Keeps the counters of the windows and decides atomically.

    Subclasses implement :meth:`_decide`, :meth:`count`, :meth:`drain`,
    :meth:`clear`. ``now`` arguments (epoch seconds) exist for tests: left
    out, the storage's own clock decides, the same for every process.
    """

    def hit(self, key, limits, cost=1, *, tally=None, now=None):
        """Counts one call of ``cost`` for ``key`` when every limit allows
        it; a refused call counts nothing. With ``tally``, adds 1 to that
        tally's ``allowed`` or ``refused`` counter in the same step.
        Returns the :class:`Decision`."""
        return self._run(key, limits, cost, True, tally, now)

    def peek(self, key, limits, cost=1, *, now=None):
        """Whether a call of ``cost`` would be allowed now, counting nothing."""
        return self._run(key, limits, cost, False, None, now)

    def _run(self, key, limits, cost, consume, tally, now):
        if not limits:
            raise ValueError("no limit to decide on")
        if cost < 1:
            raise ValueError("the cost of a call is at least 1")
        allowed, now, windows = self._decide(key, limits, cost, consume, tally, now)
        return make_decision(
            limits, now, windows, allowed, cost, consumed=consume and allowed
        )

    def _decide(self, key, limits, cost, consume, tally, now):
        """Returns ``(allowed, now, windows)``; see :func:`make_decision`."""
        raise NotImplementedError

    def count(self, tally, field, amount=1):
        """Adds ``amount`` to the counter ``field`` of ``tally``."""
        raise NotImplementedError

    def drain(self, prefix=""):
        """Returns ``{tally: {field: value}}`` for the tallies whose name
        starts with ``prefix`` and forgets those counts, so that each count
        is handed out once."""
        raise NotImplementedError

    def clear(self, key, limits):
        """Forgets the counters of ``key`` for ``limits``."""
        raise NotImplementedError
