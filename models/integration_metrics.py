import logging
import threading

import psycopg2
from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.tools import SQL

from .. import plumbing
from ..lib import metrics
from ..plumbing import Connections

_logger = logging.getLogger(__name__)

# Counters kept in PostgreSQL, never in a process: one row per series and
# labels, added to in one statement (INSERT ... ON CONFLICT) on a
# connection of its own, so that no request transaction holds its lock.
_COUNTER_TABLE = """
    CREATE TABLE IF NOT EXISTS integration_metrics_counter (
        series varchar NOT NULL,
        ref integer NOT NULL DEFAULT 0,
        label varchar NOT NULL DEFAULT '',
        name varchar,
        value bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (series, ref, label)
    )
"""
# The dispatchers' attempts: each batch INSERTs its own rows (no row is
# ever updated by two dispatchers, so they never wait on one another) and
# the compaction folds them into one row per endpoint and status class
# (``compacted``). Kept apart from the attempts themselves, which
# retention removes: the counters never go back. One column per bucket of
# lib.metrics.DURATION_BUCKETS (then +Inf), not counted cumulatively: sums
# of plain columns are what a scrape reads fastest.
BUCKET_COLUMNS = tuple(
    f"bucket_{index:02d}" for index in range(len(metrics.DURATION_BUCKETS) + 1)
)
_ATTEMPT_TABLE = f"""
    CREATE TABLE IF NOT EXISTS integration_metrics_attempt_count (
        id bigserial PRIMARY KEY,
        endpoint_id integer NOT NULL,
        status_class varchar NOT NULL,
        attempts bigint NOT NULL,
        duration_ms bigint NOT NULL,
        {", ".join(f"{column} bigint NOT NULL DEFAULT 0" for column in BUCKET_COLUMNS)},
        compacted boolean NOT NULL DEFAULT false
    );
    CREATE UNIQUE INDEX IF NOT EXISTS integration_metrics_attempt_count_compacted
        ON integration_metrics_attempt_count (endpoint_id, status_class)
        WHERE compacted;
"""
_SUMS = ", ".join(
    f"sum({column})::bigint AS {column}"
    for column in ("attempts", "duration_ms", *BUCKET_COLUMNS)
)
# Column names only come into these texts, from the constants above.
_COMPACT = f"""
    WITH gone AS (
        DELETE FROM integration_metrics_attempt_count WHERE NOT compacted
     RETURNING *
    ), sums AS (
        SELECT endpoint_id, status_class, {_SUMS}
          FROM gone GROUP BY endpoint_id, status_class
    ), folded AS (
        INSERT INTO integration_metrics_attempt_count AS m
            (endpoint_id, status_class, attempts, duration_ms,
             {", ".join(BUCKET_COLUMNS)}, compacted)
        SELECT s.*, true FROM sums s
          JOIN integration_webhook_endpoint e ON e.id = s.endpoint_id
        ON CONFLICT (endpoint_id, status_class) WHERE compacted DO UPDATE SET
        {
    ", ".join(
        f"{column} = m.{column} + EXCLUDED.{column}"
        for column in ("attempts", "duration_ms", *BUCKET_COLUMNS)
    )
}
     RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM folded)
"""  # noqa: S608
_READ_ATTEMPTS = f"""
    SELECT endpoint_id, status_class, sum(attempts)::bigint,
           sum(duration_ms)::bigint,
           ARRAY[{", ".join(f"sum({column})::bigint" for column in BUCKET_COLUMNS)}]
      FROM integration_metrics_attempt_count
  GROUP BY endpoint_id, status_class
"""  # noqa: S608

_connections_lock = threading.Lock()
_connections_of = {}  # database name: Connections


def _connections(dbname):
    """This process's own connections to ``dbname`` (see plumbing)."""
    with _connections_lock:
        if dbname not in _connections_of:
            _connections_of[dbname] = Connections(dbname)
        return _connections_of[dbname]


_COUNT = """
    INSERT INTO integration_metrics_counter AS c (series, ref, label, name, value)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (series, ref, label) DO UPDATE
    SET value = c.value + EXCLUDED.value, name = COALESCE(EXCLUDED.name, c.name)
"""

ACCEPTED = "incoming_accepted"
REJECTED = "incoming_rejected"
BACKEND_ERRORS = "rate_limit_backend_errors"
QUEUE_ATTEMPTS = "incoming_queue_attempts"
QUEUE_FAILURES = "incoming_queue_failures"
VALIDATOR_SERIES = (ACCEPTED, REJECTED, QUEUE_ATTEMPTS, QUEUE_FAILURES)


class IntegrationMetrics(models.AbstractModel):
    """The figures ``GET /integration/metrics`` serves, read from PostgreSQL.

    Also the pseudo-model an API key policy names to allow scraping them:
    a rule allowing ``read`` on ``integration.metrics``. Counters that no
    table keeps are maintained here (:meth:`_count`, :meth:`_count_attempts`);
    the rest is read from indexed queries (see :meth:`_snapshot`).
    """

    _name = "integration.metrics"
    _description = "Integration Metrics"

    def init(self):
        self.env.cr.execute(SQL(_COUNTER_TABLE))
        self.env.cr.execute(SQL(_ATTEMPT_TABLE))

    # -- counting ---------------------------------------------------------------

    @api.model
    def _count(
        self, series, ref=0, label="", name=None, amount=1, *, after_response=False
    ):
        """Adds ``amount`` to the counter ``series`` of (``ref``, ``label``),
        named ``name``, committed at once on a connection of this process's
        own (one round trip, in autocommit): whatever becomes of the
        request, the event happened. A counter that cannot be written is
        logged, never raised. ``after_response``: counted once the answer
        to the current request is sent (``plumbing.after_response``)."""
        connections = _connections(self.env.cr.dbname)
        query = self._count_query(series, ref, label, name, amount)

        def count():
            try:
                with connections.cursor() as cr:
                    cr.execute(*query)
            except psycopg2.Error:
                _logger.exception("could not count %s (%s, %s)", series, ref, label)

        if after_response:
            plumbing.after_response(count)
        else:
            count()

    @api.model
    def _count_query(self, series, ref, label, name, amount):
        """The statement (and its parameters) adding to a counter."""
        return (_COUNT, (series, ref or 0, label or "", name, amount))

    @api.model
    def _count_accepted(self, incoming):
        """Counts a call that passed every check of its validator
        (``incoming``, a ``lib.webhook_settings.Incoming``)."""
        self._count(ACCEPTED, incoming.validator_id, after_response=True)

    @api.model
    def _count_queue_run(self, validator_id, failed=False):
        """Counts a run of a queued incoming message of ``validator_id``,
        and a failure when its automation ``failed`` (retried or dead)."""
        self._count(QUEUE_ATTEMPTS, validator_id)
        if failed:
            self._count(QUEUE_FAILURES, validator_id)

    @api.model
    def _count_attempts(self, attempts):
        """Adds a batch's attempts, ``(endpoint id, status code, duration in
        ms)``, to the counters, in the current transaction: they count
        exactly when the attempts are recorded."""
        groups = {}
        for endpoint_id, status, duration in attempts:
            key = (endpoint_id, metrics.status_class(status))
            groups.setdefault(key, []).append(duration or 0)
        if not groups:
            return
        self.env.cr.execute(
            SQL(
                "INSERT INTO integration_metrics_attempt_count"
                " (endpoint_id, status_class, attempts, duration_ms, %s) VALUES %s",
                SQL(", ").join(SQL.identifier(column) for column in BUCKET_COLUMNS),
                SQL(", ").join(
                    SQL(
                        "(%s)",
                        SQL(", ").join(
                            (
                                endpoint_id,
                                klass,
                                len(durations),
                                sum(durations),
                                *metrics.bucket_counts(durations),
                            )
                        ),
                    )
                    for (endpoint_id, klass), durations in sorted(groups.items())
                ),
            )
        )

    @api.model
    def _compact(self):
        """Folds the attempt rows the dispatchers added into one row per
        endpoint and status class, in the current transaction (the sums are
        unchanged, so a scrape sees the same values before and after).
        Rows of deleted endpoints are dropped. Returns the rows folded.

        The cron and the autovacuum's retention may fold at the same time:
        the one that comes second finds the rows it read deleted (a
        serialization failure under Odoo's repeatable read), and leaves
        them to the other, which folded them."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(_COMPACT, log_exceptions=False)
                folded, _kept = cr.fetchone()
                # What the endpoints deleted since left behind.
                cr.execute(
                    "DELETE FROM integration_metrics_attempt_count m WHERE NOT EXISTS"
                    " (SELECT 1 FROM integration_webhook_endpoint e"
                    "   WHERE e.id = m.endpoint_id)"
                )
        except SerializationFailure:
            _logger.info("Attempt counters folded by another transaction meanwhile")
            return 0
        return folded

    @api.model
    def _cron_compact(self):
        """Cron: folds the dispatchers' attempt rows (see :meth:`_compact`)."""
        self._compact()

    # -- reading --------------------------------------------------------------

    @api.model
    def _snapshot(self):
        """The figures of one scrape (:class:`lib.metrics.Snapshot`), read
        in one transaction: a handful of queries, each on an index or a
        table of one row per configured thing, so that a scrape costs the
        same with a million deliveries as with a thousand."""
        cr = self.env.cr
        self.env.flush_all()
        snapshot = metrics.Snapshot()
        cr.execute(
            "SELECT id, name, disabled_at IS NOT NULL, consecutive_failures"
            "  FROM integration_webhook_endpoint WHERE active"
        )
        snapshot.endpoints = {
            row[0]: (row[1] or "", row[2], row[3] or 0) for row in cr.fetchall()
        }
        # An index-only scan of the waiting and dead deliveries (the
        # partial index of integration.webhook.delivery), delivered ones
        # left out: their number is history, not a state.
        cr.execute(
            SQL(
                "SELECT endpoint_id, state, count(*), min(create_date)"
                "  FROM integration_webhook_delivery"
                " WHERE state IN ('pending', 'retrying', 'sending', 'dead')"
                " GROUP BY endpoint_id, state"
            )
        )
        now = fields.Datetime.now()
        oldest = {}
        for endpoint_id, state, count, first in cr.fetchall():
            snapshot.deliveries.append((endpoint_id, state, count))
            if state != "dead" and first is not None:
                oldest[endpoint_id] = min(oldest.get(endpoint_id, first), first)
        snapshot.oldest = [
            (endpoint_id, (now - first).total_seconds())
            for endpoint_id, first in sorted(oldest.items())
        ]
        cr.execute(_READ_ATTEMPTS)
        snapshot.attempts = cr.fetchall()
        cr.execute(
            "SELECT key_id, max(key_name), sum(calls), sum(rate_limited), sum(denied)"
            "  FROM integration_api_usage GROUP BY key_id ORDER BY key_id"
        )
        snapshot.api = cr.fetchall()
        cr.execute(
            "SELECT c.series, c.ref, c.label, COALESCE(v.name, c.name), c.value"
            "  FROM integration_metrics_counter c"
            "  LEFT JOIN integration_webhook_validator v"
            "    ON v.id = c.ref AND c.series IN %s"
            " ORDER BY c.series, c.ref, c.label",
            (VALIDATOR_SERIES,),
        )
        for series, ref, label, name, value in cr.fetchall():
            if series == ACCEPTED:
                snapshot.accepted.append((ref, name, value))
            elif series == QUEUE_ATTEMPTS:
                snapshot.queue_attempts.append((ref, name, value))
            elif series == QUEUE_FAILURES:
                snapshot.queue_failures.append((ref, name, value))
            elif series == REJECTED:
                snapshot.rejected.append((ref, name, label, value))
            elif series == BACKEND_ERRORS:
                snapshot.backend_errors.append((label, value))
        snapshot.queue, snapshot.queue_oldest = self.env[
            "integration.webhook.message"
        ]._integration_queue_snapshot()
        snapshot.circuits = self._circuit_states()
        return snapshot

    @api.model
    def _circuit_states(self):
        """``(endpoint id, circuit state)`` of every endpoint, for the
        ``webhook_endpoint_circuit_state`` gauge
        (:func:`lib.metrics.circuit_family`), archived ones left out."""
        self.env["integration.webhook.endpoint"].flush_model(["circuit_state"])
        self.env.cr.execute(
            "SELECT id, COALESCE(circuit_state, 'closed')"
            "  FROM integration_webhook_endpoint WHERE active ORDER BY id"
        )
        return self.env.cr.fetchall()

    @api.model
    def _render(self, accept=None):
        """``(body, content type)`` of a scrape asking for ``accept``."""
        return metrics.render(self._snapshot(), accept)
