import time
from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..lib.outbox import breaker, pacing, retry

PACE_WINDOW = 1.0  # seconds of 2xx answers that tell what a receiver accepts

# A delivery of an endpoint whose circuit's probe may go, left in sending by
# a dispatcher that died (its lease is over): the probe first, since it
# holds back the deliveries of its record on an endpoint keeping order.
_PROBE_EXPIRED = """
    SELECT d.id, d.endpoint_id
      FROM integration_webhook_delivery d
     WHERE d.endpoint_id = %(endpoint)s
       AND d.state = 'sending' AND d.lease_expires_at <= %(now)s
     ORDER BY d.lease_expires_at, d.id
     LIMIT 1
       FOR NO KEY UPDATE SKIP LOCKED
"""
# Otherwise the oldest waiting delivery (in per-record order when the
# endpoint keeps it).
_PROBE = """
    SELECT d.id, d.endpoint_id
      FROM integration_webhook_delivery d
     WHERE d.endpoint_id = %(endpoint)s
       AND d.state IN ('pending', 'retrying') AND d.next_attempt_at <= %(now)s
       AND %(in_order)s
     ORDER BY d.next_attempt_at, d.id
     LIMIT 1
       FOR NO KEY UPDATE SKIP LOCKED
"""
_IN_ORDER = """
    NOT EXISTS (
        SELECT 1 FROM integration_webhook_delivery o
         WHERE o.endpoint_id = d.endpoint_id AND o.res_model = d.res_model
           AND o.res_id = d.res_id AND o.id < d.id
           AND o.state IN ('pending', 'sending', 'retrying'))
"""


class IntegrationWebhookDispatcher(models.AbstractModel):
    """The delivery engine's part of the dispatcher: the circuit breaker's
    probes, the endpoints' adaptive pace, and what a batch in flight must
    stop sending (see :mod:`lib.outbox.breaker`, :mod:`lib.outbox.pacing`
    and :mod:`lib.outbox.flight`)."""

    _inherit = "integration.webhook.dispatcher"

    # -- the claim ------------------------------------------------------------

    def _claim_probes(self, endpoint_ids, ordered, now, lease):
        """Claims one probe delivery for each of ``endpoint_ids`` whose
        circuit's probe may go now and that no other dispatcher is probing,
        making their circuit half-open for ``lease`` seconds. Returns
        ``[(delivery id, endpoint id)]``."""
        cr = self.env.cr
        probed = []
        for endpoint_id in sorted(endpoint_ids):
            cr.execute(
                SQL(
                    """
                    SELECT id, circuit_failures, circuit_trips, circuit_opened_at
                      FROM integration_webhook_endpoint
                     WHERE id = %s AND COALESCE(circuit_state, 'closed') != 'closed'
                       AND circuit_next_probe_at <= %s
                       FOR NO KEY UPDATE SKIP LOCKED
                    """,
                    endpoint_id,
                    now,
                ),
                log_exceptions=False,
            )
            if not cr.fetchone():
                continue
            cr.execute(
                SQL(_PROBE_EXPIRED, endpoint=endpoint_id, now=now),
                log_exceptions=False,
            )
            row = cr.fetchone()
            if not row:
                cr.execute(
                    SQL(
                        _PROBE,
                        endpoint=endpoint_id,
                        now=now,
                        in_order=SQL(_IN_ORDER)
                        if endpoint_id in ordered
                        else SQL("TRUE"),
                    ),
                    log_exceptions=False,
                )
                row = cr.fetchone()
            if not row:
                continue
            circuit = breaker.probe(breaker.Circuit(breaker.OPEN), now, lease)
            cr.execute(
                SQL(
                    "UPDATE integration_webhook_endpoint SET circuit_state = %s,"
                    " circuit_next_probe_at = %s WHERE id = %s",
                    circuit.state,
                    circuit.next_probe_at,
                    endpoint_id,
                ),
            )
            probed.append(row)
        if probed:
            self.env["integration.webhook.endpoint"].invalidate_model(
                ["circuit_state", "circuit_next_probe_at"]
            )
        return probed

    def _rates(self, endpoint_ids):
        """``{endpoint id: (rate, next free slot)}`` of ``endpoint_ids``."""
        if not endpoint_ids:
            return {}
        self.env.cr.execute(
            SQL(
                "SELECT id, max_per_second, COALESCE(pace_rate, 0),"
                "       COALESCE(throttle_next_at, 0)"
                "  FROM integration_webhook_endpoint WHERE id = ANY(%s)",
                list(endpoint_ids),
            )
        )
        return {
            endpoint_id: (pacing.effective_rate(limit, paced), next_slot)
            for endpoint_id, limit, paced, next_slot in self.env.cr.fetchall()
        }

    def _next_probe(self, horizon):
        """The earliest time before ``horizon`` a probe is due on an
        endpoint whose circuit is open and that has a delivery waiting or
        left in sending by a dispatcher whose lease ends by then, or
        None."""
        self.env.cr.execute(
            SQL(
                """
                SELECT min(e.circuit_next_probe_at)
                  FROM integration_webhook_endpoint e
                 WHERE COALESCE(e.circuit_state, 'closed') != 'closed' AND e.active
                   AND e.disabled_at IS NULL AND e.circuit_next_probe_at <= %(horizon)s
                   AND (EXISTS (
                        SELECT 1 FROM integration_webhook_delivery d
                         WHERE d.endpoint_id = e.id
                           AND d.state IN ('pending', 'retrying')
                           AND d.next_attempt_at <= %(horizon)s)
                        OR EXISTS (
                        SELECT 1 FROM integration_webhook_delivery d
                         WHERE d.endpoint_id = e.id AND d.state = 'sending'
                           AND d.lease_expires_at <= %(horizon)s))
                """,
                horizon=horizon,
            )
        )
        return self.env.cr.fetchone()[0]

    # -- in flight ------------------------------------------------------------

    def _breaker_state(self, endpoint_ids):
        """``{endpoint id: failures in a row}`` of ``endpoint_ids`` for the
        breaker's window, and the threshold."""
        self.env.cr.execute(
            SQL(
                "SELECT id, COALESCE(circuit_failures, 0)"
                "  FROM integration_webhook_endpoint WHERE id = ANY(%s)",
                list(endpoint_ids),
            )
        )
        failures = dict(self.env.cr.fetchall())
        return failures, self.env["integration.webhook.endpoint"]._circuit_threshold()

    def _held_back(self, endpoint_ids, claimed_at, probing=()):
        """The endpoints among ``endpoint_ids`` whose deliveries not sent
        yet must go back to the queue: their circuit is no longer closed,
        their pace was cut or they were paused since Unix time
        ``claimed_at``. Never those of ``probing``, whose probe the batch
        holds: the circuit is half-open for the probe's sake, and nothing
        else goes to them meanwhile; a probe released would hold the
        circuit half-open until its lease ends."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM integration_webhook_endpoint
                 WHERE id = ANY(%(ids)s) AND id <> ALL(%(probing)s::int[])
                   AND (COALESCE(circuit_state, 'closed') != 'closed'
                        OR COALESCE(pace_cut_at, 0) >= %(claimed_at)s
                        OR COALESCE(throttle_next_at, 0) > %(paused)s)
                """,
                ids=list(endpoint_ids),
                probing=list(probing),
                claimed_at=claimed_at,
                paused=time.time() + 2 * pacing.THROTTLE_HORIZON,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    # -- the outcome ----------------------------------------------------------

    @api.model
    def _engine_tally(self, tally, endpoint_id, result):
        """Adds up in ``tally`` (a ``defaultdict(dict)``) what a request to
        an endpoint tells its breaker and its pace."""
        if not result.sent:
            return
        entry = tally[endpoint_id]
        status = result.status_code
        entry.setdefault("outcomes", []).append(breaker.outcome(status))
        entry["successes"] = entry.get("successes", 0) + retry.succeeded(status)
        if status in retry.RETRY_AFTER_STATUSES:
            entry["throttled"] = True
            wait = retry.parse_retry_after(result.retry_after)
            if wait is not None:
                entry["retry_after"] = max(entry.get("retry_after", 0), wait)

    def _update_engine(self, tally, now):
        """Moves the circuit and the pace of the endpoints in ``tally`` (see
        :meth:`_engine_tally`). A circuit that closes lets its endpoint's
        waiting deliveries go at once; returns the ids of those."""
        cr = self.env.cr
        closed = []
        threshold = self.env["integration.webhook.endpoint"]._circuit_threshold()
        clock = time.time()
        for endpoint_id in sorted(tally):
            entry = tally[endpoint_id]
            cr.execute(
                SQL(
                    """
                    SELECT COALESCE(circuit_state, 'closed'),
                           COALESCE(circuit_failures, 0), COALESCE(circuit_trips, 0),
                           circuit_opened_at, circuit_next_probe_at,
                           max_per_second, COALESCE(pace_rate, 0),
                           COALESCE(pace_cut_at, 0), COALESCE(throttle_next_at, 0)
                      FROM integration_webhook_endpoint
                     WHERE id = %s
                       FOR NO KEY UPDATE
                    """,
                    endpoint_id,
                ),
                log_exceptions=False,
            )
            row = cr.fetchone()
            if not row:
                continue  # deleted meanwhile
            before = breaker.Circuit(*row[:5])
            limit, paced, cut_at, next_slot = row[5:]
            circuit = breaker.after_try(
                before,
                entry.get("outcomes", ()),
                now,
                threshold,
                entry.get("retry_after"),
            )
            accepted = 0
            if entry.get("throttled"):
                accepted = self._accepted(endpoint_id, now)
            paced, cut_at = pacing.adapt(
                paced,
                limit,
                successes=entry.get("successes", 0),
                throttled=entry.get("throttled", False),
                accepted=accepted,
                now=clock,
                cut_at=cut_at,
            )
            next_slot = pacing.pause(next_slot, clock, entry.get("retry_after"))
            cr.execute(
                SQL(
                    """
                    UPDATE integration_webhook_endpoint
                       SET circuit_state = %s, circuit_failures = %s,
                           circuit_trips = %s, circuit_opened_at = %s,
                           circuit_next_probe_at = %s, pace_rate = %s,
                           pace_cut_at = %s, throttle_next_at = %s
                     WHERE id = %s
                    """,
                    circuit.state,
                    circuit.failures,
                    circuit.trips,
                    circuit.opened_at,
                    circuit.next_probe_at,
                    paced,
                    cut_at,
                    next_slot,
                    endpoint_id,
                ),
                log_exceptions=False,
            )
            if circuit.closed and not before.closed:
                closed.append(endpoint_id)
        if closed:
            # The backlog a closed circuit held back goes out now: retries
            # scheduled while the receiver was down need not wait.
            cr.execute(
                SQL(
                    """
                    UPDATE integration_webhook_delivery
                       SET next_attempt_at = %(now)s
                     WHERE endpoint_id = ANY(%(ids)s) AND state = 'retrying'
                       AND next_attempt_at > %(now)s
                    """,
                    now=now,
                    ids=closed,
                ),
                log_exceptions=False,
            )
        self.env["integration.webhook.endpoint"].invalidate_model()
        return closed

    def _accepted(self, endpoint_id, now):
        """How many 2xx answers the endpoint's receiver gave in the last
        ``PACE_WINDOW`` seconds, recorded by any dispatcher."""
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM integration_webhook_attempt
                 WHERE endpoint_id = %s AND started_at >= %s AND succeeded
                """,
                endpoint_id,
                now - timedelta(seconds=PACE_WINDOW),
            )
        )
        return self.env.cr.fetchone()[0]
