import time
import uuid
from collections import defaultdict
from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..lib.outbox import delivery, pacing

COUNT_CAP = 10000  # due deliveries counted at most, to keep the count cheap

# Endpoints whose deliveries may be sent now: active, not disabled, not
# paced (throttled, or paused by a Retry-After) beyond the reservation
# horizon, and with a closed circuit; those whose circuit waits for a probe
# that may go now are told apart (see lib.outbox.breaker).
_SENDABLE = """
    e.active AND e.disabled_at IS NULL
    AND COALESCE(e.throttle_next_at, 0) <= %(horizon)s
"""
_CLOSED = "COALESCE(e.circuit_state, 'closed') = 'closed'"
_PROBE_DUE = f"NOT {_CLOSED} AND e.circuit_next_probe_at <= %(now)s"
# Deliveries due: waiting ones whose time has come, and those left in
# sending by a dispatcher whose lease expired, on endpoints not held back.
# Each kind is read from an index of its own, in order, so that the
# planner walks the index and stops at the limit: as fast with a million
# rows queued as with ten thousand. The endpoints held back are excluded by
# id rather than by a join, whose estimates lead the planner to sort the
# whole queue instead; when some are held back, waiting deliveries are read
# endpoint by endpoint, so that the backlog of a disabled endpoint is never
# walked through.
_WAITING = "d.state IN ('pending', 'retrying') AND d.next_attempt_at <= %(now)s"
_EXPIRED = "d.state = 'sending' AND d.lease_expires_at <= %(now)s"
_NOT_HELD = "d.endpoint_id <> ALL(%(held)s::int[])"
# Per-record order: on the endpoints that keep it, a delivery waits while an
# older one about the same record is waiting, sending or retrying (read from
# the index of those, one probe per row walked).
_IN_ORDER = """
    (d.endpoint_id <> ALL(%(ordered)s::int[]) OR NOT EXISTS (
        SELECT 1 FROM integration_webhook_delivery o
         WHERE o.endpoint_id = d.endpoint_id AND o.res_model = d.res_model
           AND o.res_id = d.res_id AND o.id < d.id
           AND o.state IN ('pending', 'sending', 'retrying')))
"""
_FIRST_WAITING = """
    (SELECT d.id, d.endpoint_id, d.next_attempt_at
       FROM integration_webhook_delivery d
      WHERE %(waiting)s
      ORDER BY d.next_attempt_at, d.id
      LIMIT %(limit)s %(lock)s) AS w
"""
_FIRST_WAITING_BY_ENDPOINT = """
    (SELECT x.id, x.endpoint_id, x.next_attempt_at
       FROM unnest(%(sendable)s::int[]) AS e(id)
      CROSS JOIN LATERAL (
            SELECT d.id, d.endpoint_id, d.next_attempt_at
              FROM integration_webhook_delivery d
             WHERE d.endpoint_id = e.id AND %(waiting)s
             ORDER BY d.next_attempt_at, d.id
             LIMIT %(limit)s %(lock)s) AS x) AS w
"""
_LOCK = "FOR NO KEY UPDATE SKIP LOCKED"


class IntegrationWebhookDispatcher(models.AbstractModel):
    """The dispatcher's claim: which deliveries are due, and reserving them
    for one dispatcher with a lease."""

    _inherit = "integration.webhook.dispatcher"

    @api.model
    def _endpoints(self, horizon):
        """The endpoints as the claim sees them before Unix time ``horizon``:

        * ``{endpoint id: (rate, next free slot)}`` of those whose
          deliveries may be sent (rate 0: not throttled);
        * the ids of the others, held back: archived, disabled, paced beyond
          the horizon, or behind a circuit that is not closed;
        * the ids of those keeping per-record order;
        * the ids of those, among the held back, whose circuit's next probe
          may go now (see :mod:`lib.outbox.breaker`).
        """
        self.env.cr.execute(
            SQL(
                "SELECT e.id, e.max_per_second, COALESCE(e.pace_rate, 0),"
                "       COALESCE(e.throttle_next_at, 0), e.ordering = 'per_record',"
                "       %s, %s, %s"
                "  FROM integration_webhook_endpoint e",
                SQL(_SENDABLE, horizon=horizon),
                SQL(_CLOSED),
                SQL(_PROBE_DUE, now=delivery.utcnow()),
            )
        )
        sendable, held, ordered, probes = {}, [], [], []
        for row in self.env.cr.fetchall():
            endpoint_id, limit, paced, next_slot, in_order, ok, closed, probe = row
            if in_order:
                ordered.append(endpoint_id)
            if ok and closed:
                sendable[endpoint_id] = (pacing.effective_rate(limit, paced), next_slot)
                continue
            held.append(endpoint_id)
            if ok and probe:
                probes.append(endpoint_id)
        return sendable, held, ordered, probes

    @api.model
    def _first_waiting(self, sendable, held, now, limit, lock=False, ordered=()):
        """A FROM item ``w`` (``id``, ``endpoint_id``, ``next_attempt_at``):
        the first ``limit`` deliveries waiting until ``now`` on the
        ``sendable`` endpoints - that many of each endpoint when some are
        ``held`` back - locked for this transaction with ``lock``; on the
        ``ordered`` endpoints, only the oldest waiting one of each record."""
        waiting = SQL(_WAITING, now=now)
        if ordered:
            waiting = SQL("%s AND %s", waiting, SQL(_IN_ORDER, ordered=list(ordered)))
        return SQL(
            _FIRST_WAITING_BY_ENDPOINT if held else _FIRST_WAITING,
            sendable=list(sendable),
            waiting=waiting,
            limit=limit,
            lock=SQL(_LOCK) if lock else SQL(),
        )

    @api.model
    def _count_due(self):
        """How many deliveries may be claimed now, counted up to COUNT_CAP."""
        now = delivery.utcnow()
        sendable, held, ordered, _probes = self._endpoints(
            time.time() + pacing.THROTTLE_HORIZON
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT count(*) FROM %(waiting)s)
                     + (SELECT count(*) FROM (
                            SELECT 1 FROM integration_webhook_delivery d
                             WHERE %(expired)s AND %(not_held)s
                             LIMIT %(cap)s) AS expired)
                """,
                waiting=self._first_waiting(
                    sendable, held, now, COUNT_CAP, ordered=ordered
                ),
                expired=SQL(_EXPIRED, now=now),
                not_held=SQL(_NOT_HELD, held=held),
                cap=COUNT_CAP,
            )
        )
        return min(self.env.cr.fetchone()[0], COUNT_CAP)

    @api.model
    def _linger(self, time_left):
        """Seconds the dispatcher cron should wait for the next delivery to
        fall due, or None when it should not wait (see
        :func:`lib.outbox.pacing.linger`). Only in a cron run: whoever calls
        the dispatcher by hand gets control back."""
        cron_id = self.env.context.get("cron_id")
        if not cron_id:
            return None
        now = delivery.utcnow()
        horizon = now + timedelta(seconds=pacing.SHORT_WAIT)
        sendable, held, ordered, _probes = self._endpoints(
            time.time() + pacing.SHORT_WAIT
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT w.next_attempt_at, w.endpoint_id FROM %(waiting)s
                UNION ALL
                (SELECT d.lease_expires_at, d.endpoint_id
                   FROM integration_webhook_delivery d
                  WHERE %(expired)s AND %(not_held)s
                  ORDER BY d.lease_expires_at LIMIT 1)
                """,
                waiting=self._first_waiting(
                    sendable, held, horizon, 1, ordered=ordered
                ),
                expired=SQL(_EXPIRED, now=horizon),
                not_held=SQL(_NOT_HELD, held=held),
            )
        )
        dues = []
        for at, endpoint_id in self.env.cr.fetchall():
            rate, next_slot = sendable[endpoint_id]
            # A throttled endpoint's next slots, or the end of a pause. Not
            # as soon as one slot is free: a claim for one delivery at a
            # time would cost more than the sending.
            dues.append(
                pacing.due_after_throttle(at, next_slot, pacing.CLAIM_AHEAD)
                if rate
                else pacing.due_after_throttle(at, next_slot)
            )
        if probe_at := self._next_probe(horizon):
            dues.append(probe_at)
        wait = pacing.linger(now, min(dues, default=None), time_left)
        if wait is pacing.NEW_RUN:
            self.env["ir.cron"].browse(cron_id).sudo()._trigger()
            return None
        if wait is not None:
            # Ends the transaction: the claim after the wait needs a fresh
            # snapshot, and none is held meanwhile.
            self.env["ir.cron"]._commit_progress(0)
        return wait

    # -- claiming -------------------------------------------------------------

    @api.model
    def _claim(self, limit, lease=None):
        """Reserves due deliveries for this dispatcher for ``lease`` seconds
        (default: the lease setting) and commits.

        Returns the claimed rows (dicts), the HTTP request of each in the
        same order, and the settings of their endpoints, ``{endpoint id:
        EndpointSettings}``, read once for the batch. Rows another
        dispatcher holds are skipped, never waited for.
        """
        lease = lease or self._lease()

        def claim():
            claimed = self._claim_rows(limit, lease)
            endpoints = self.env["integration.webhook.endpoint"].sudo()
            settings = {
                endpoint_id: endpoints.browse(endpoint_id)._outbox_settings()
                for endpoint_id in {row["endpoint_id"] for row in claimed}
            }
            messages = [
                settings[row["endpoint_id"]].message(
                    row["uuid"], row["payload"], row["not_before"]
                )
                for row in claimed
            ]
            self.env["ir.cron"]._commit_progress(0)
            return claimed, messages, settings

        claimed = self._transact(claim)
        return ([], [], {}) if claimed is None else claimed

    def _claim_rows(self, limit, lease):
        cr = self.env.cr
        now = delivery.utcnow()
        sendable, held, ordered, probes = self._endpoints(
            time.time() + pacing.THROTTLE_HORIZON
        )
        # Deliveries whose dispatcher died first: they are the most overdue.
        cr.execute(
            SQL(
                """
                SELECT d.id, d.endpoint_id
                  FROM integration_webhook_delivery d
                 WHERE %(expired)s AND %(not_held)s
                 ORDER BY d.lease_expires_at, d.id
                 LIMIT %(limit)s
                   FOR NO KEY UPDATE SKIP LOCKED
                """,
                expired=SQL(_EXPIRED, now=now),
                not_held=SQL(_NOT_HELD, held=held),
                limit=limit,
            ),
            log_exceptions=False,
        )
        candidates = cr.fetchall()
        if len(candidates) < limit and sendable:
            left = limit - len(candidates)
            cr.execute(
                SQL(
                    """
                    SELECT w.id, w.endpoint_id FROM %s
                     ORDER BY w.next_attempt_at, w.id
                     LIMIT %s
                    """,
                    self._first_waiting(
                        sendable, held, now, left, lock=True, ordered=ordered
                    ),
                    left,
                ),
                log_exceptions=False,
            )
            candidates += cr.fetchall()
        rates = dict(sendable)
        probed = []
        if probes and len(candidates) < limit:
            probed = self._claim_probes(
                probes[: limit - len(candidates)], ordered, now, lease
            )
            candidates += probed
            rates.update(self._rates([endpoint_id for _id, endpoint_id in probed]))
        candidates = [
            (delivery_id, endpoint_id, *rates[endpoint_id])
            for delivery_id, endpoint_id in candidates
        ]
        if not candidates:
            return []
        slots = self._reserve_send_slots(candidates)
        cr.execute(
            SQL(
                """
                UPDATE integration_webhook_delivery
                   SET state = 'sending',
                       lease_expires_at = %s,
                       lease_token = %s,
                       write_date = %s
                 WHERE id = ANY(%s)
             RETURNING id, endpoint_id, uuid, payload, attempt_count, lease_token
                """,
                now + timedelta(seconds=lease),
                uuid.uuid4().hex,
                now,
                list(slots),
            )
        )
        claimed = cr.dictfetchall()
        probing = {endpoint_id for _id, endpoint_id in probed}
        for row in claimed:
            row["not_before"] = slots[row["id"]]
            row["probe"] = row["endpoint_id"] in probing
        claimed.sort(key=lambda row: row["not_before"])
        self.env["integration.webhook.delivery"].invalidate_model()
        return claimed

    def _reserve_send_slots(self, candidates):
        """Returns {delivery id: Unix time before which not to send it} for
        the candidates that may be sent now.

        Deliveries of throttled endpoints get the slots
        :func:`lib.outbox.pacing.reserve_slots` gives, reserved on the
        endpoint row so that the rate holds across every dispatcher; the
        others may go at once, or when their endpoint's pause (a
        Retry-After) ends.
        """
        slots = {}
        throttled = defaultdict(list)
        for delivery_id, endpoint_id, rate, next_slot in candidates:
            if rate:
                throttled[endpoint_id].append(delivery_id)
            else:
                slots[delivery_id] = next_slot
        if not throttled:
            return slots
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT id, max_per_second, COALESCE(pace_rate, 0),
                       COALESCE(throttle_next_at, 0)
                  FROM integration_webhook_endpoint
                 WHERE id = ANY(%s)
                 ORDER BY id
                   FOR NO KEY UPDATE
                """,
                list(throttled),
            ),
            log_exceptions=False,
        )
        now = time.time()
        for endpoint_id, limit, paced, next_at in cr.fetchall():
            rate = pacing.effective_rate(limit, paced)
            wanted = throttled[endpoint_id]
            times, next_at = pacing.reserve_slots(now, next_at, rate, len(wanted))
            slots.update(zip(wanted, times, strict=False))
            if times:
                cr.execute(
                    SQL(
                        "UPDATE integration_webhook_endpoint SET throttle_next_at = %s "
                        "WHERE id = %s",
                        next_at,
                        endpoint_id,
                    ),
                    log_exceptions=False,
                )
        self.env["integration.webhook.endpoint"].invalidate_model(["throttle_next_at"])
        return slots
