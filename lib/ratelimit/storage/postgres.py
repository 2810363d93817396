"""Counters in PostgreSQL: UNLOGGED tables and one server-side function
(``resources/postgres.sql``), one round trip per decision."""

from pathlib import Path

from ..window import BUCKETS
from .base import Storage

# PostgreSQL: the windows and tallies live in UNLOGGED tables (no WAL: a
# crash of the server forgets them, which only resets the counters), and one
# function decides, so that a decision is one round trip. Decisions on one
# key queue on a transaction-level advisory lock - in a two-key space of its
# own (1919250540, hash of the key), apart from the one-key locks of other
# code; at READ COMMITTED each statement after it sees what the previous
# decision committed.
PG_SCHEMA = (Path(__file__).parent / "resources" / "postgres.sql").read_text()


class PostgresStorage(Storage):
    """Counters in PostgreSQL, shared by every process and server of one
    database.

    ``connect`` returns a context manager giving a DB-API cursor on a
    connection of the limiter's own, at READ COMMITTED, whose work is
    committed when the block ends without error (autocommit will do): the
    counters must be written whatever becomes of the transaction of the
    request being limited (read-only, rolled back, or run again after a
    serialization failure). The tables and the function (``PG_SCHEMA``)
    must exist: :func:`install_postgres`.
    """

    def __init__(self, connect):
        self._connect = connect

    def _decide(self, key, limits, cost, consume, tally, now):
        with self._connect() as cr:
            cr.execute(
                "SELECT * FROM integration_rate_limit_decide("
                "%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    key,
                    [limit.quantity for limit in limits],
                    [limit.seconds for limit in limits],
                    cost,
                    consume,
                    now,
                    tally,
                    BUCKETS,
                ),
            )
            rows = cr.fetchall()
        windows = [
            (current, dict(zip(buckets, counts, strict=True)), expires_at)
            for _allowed, _now, current, buckets, counts, expires_at in rows
        ]
        return rows[0][0], rows[0][1], windows

    def count(self, tally, field, amount=1):
        with self._connect() as cr:
            cr.execute(
                "INSERT INTO integration_rate_limit_tally AS t (name, field, value) "
                "VALUES (%s, %s, %s) ON CONFLICT (name, field) "
                "DO UPDATE SET value = t.value + EXCLUDED.value",
                (tally, field, amount),
            )

    def drain(self, prefix="", cr=None):
        """See :meth:`Storage.drain`. With ``cr``, the counts are taken in
        that cursor's transaction: they come back if it rolls back."""
        if cr is None:
            with self._connect() as own:
                return self.drain(prefix, own)
        cr.execute(
            "DELETE FROM integration_rate_limit_tally WHERE starts_with(name, %s) "
            "RETURNING name, field, value",
            (prefix,),
        )
        tallies = {}
        for name, field, value in cr.fetchall():
            tallies.setdefault(name, {})[field] = value
        return tallies

    def clear(self, key, limits):
        with self._connect() as cr:
            cr.execute(
                "DELETE FROM integration_rate_limit_counter "
                "WHERE key = %s AND period = ANY(%s)",
                (key, [limit.seconds for limit in limits]),
            )

    def purge_expired(self, cr, now=None, batch=10000):
        """Removes windows whose every call has expired, ``batch`` at a
        time; returns how many went."""
        cr.execute(
            "DELETE FROM integration_rate_limit_counter WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM integration_rate_limit_counter WHERE expires_at < "
            "coalesce(%s, extract(epoch FROM clock_timestamp())::double precision) "
            "LIMIT %s))",
            (now, batch),
        )
        return cr.rowcount


def install_postgres(cr):
    """Creates or updates the tables and the function of :class:`PostgresStorage`."""
    cr.execute(PG_SCHEMA)
