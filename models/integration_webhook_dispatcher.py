import logging
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2.errors
import psycopg2.sql

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION

from ..lib import retry, webhook_http
from .integration_rate_limiter import _Connections
from .integration_webhook_endpoint import DISABLE_AFTER

_logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # deliveries claimed at once by a dispatcher
LEASE = 120  # seconds a claimed delivery is reserved for its dispatcher, by default
LEASE_PARAM = "integration_gateway.dispatch_lease"
LEASE_MARGIN = 10  # seconds kept between the last possible answer and the lease end
THROTTLE_HORIZON = 1.0  # seconds of send slots a dispatcher reserves ahead
TRIES = 5  # a transaction colliding with another dispatcher is tried again
COUNT_CAP = 10000  # due deliveries counted at most, to keep the count cheap
# A delivery due sooner than this (a retry, an expiring lease) is waited for
# by the dispatcher cron instead of for the next wake-up of the cron threads
# (every minute when nothing wakes them); Odoo grants a cron run at least 10
# seconds, and a wait beyond the run's time gets the cron a new run.
SHORT_WAIT = 10  # seconds
SHORT_WAIT_MIN = 0.1  # seconds waited at least, so that a wait never spins
SUCCESS_PRECISION = timedelta(seconds=10)  # of an endpoint's last_success_at
DISPATCHER_XMLID = "ir_cron_webhook_dispatcher_%d"
MAX_DISPATCHERS = 32

# Endpoints whose deliveries may be sent now: active, not disabled, and not
# throttled beyond the reservation horizon.
_SENDABLE = """
    e.active AND e.disabled_at IS NULL
    AND (e.max_per_second = 0 OR COALESCE(e.throttle_next_at, 0) <= %(horizon)s)
"""
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

# The outcome of a batch, on the rows still leased to this dispatcher only:
# one whose lease ran out may have been claimed again, and its new owner
# records it.
# A row released unsent carries neither a status nor an error, and keeps
# those of its last attempt; one sent without an answer (a timeout) has an
# error and no status.
_STORE_OUTCOMES = """
    UPDATE integration_webhook_delivery d
       SET state = v.state,
           attempt_count = v.attempts,
           next_attempt_at = v.due,
           last_status_code = CASE WHEN v.status IS NULL AND v.error IS NULL
                                   THEN d.last_status_code ELSE v.status END,
           last_error = CASE WHEN v.state = 'delivered' THEN NULL
                        ELSE COALESCE(v.error, d.last_error) END,
           delivered_at = v.delivered_at,
           lease_expires_at = NULL,
           lease_token = NULL,
           write_date = %(now)s
      FROM (VALUES %(values)s)
        AS v(id, state, attempts, due, status, error, delivered_at, token)
     WHERE d.id = v.id AND d.lease_token = v.token
"""

_sender_lock = threading.Lock()
_sender = None
_notifier = None


def _postgres_connections():
    """This process's own connection(s) to the ``postgres`` database, where
    Odoo's cron workers listen for triggers."""
    global _notifier
    with _sender_lock:
        if _notifier is None:
            _notifier = _Connections("postgres")
        return _notifier


def utcnow():
    """Now, as a naive UTC datetime with microseconds (Odoo's storage
    convention; the precision matters for retries seconds apart)."""
    return datetime.now(UTC).replace(tzinfo=None)


class IntegrationWebhookDispatcher(models.AbstractModel):
    """Sends queued webhooks: what the dispatcher crons run.

    Each run claims due deliveries in a short transaction (``FOR NO KEY
    UPDATE SKIP LOCKED``, state ``sending`` with a lease), commits, sends
    them outside any lock through a pooled sender, then records every
    attempt, the deliveries' new states and the endpoints' health. Any
    number of dispatchers may run at once, on any number of servers: a
    delivery is never claimed by two of them, and one left in ``sending`` by
    a dispatcher that died is claimed again when its lease expires.
    """

    _name = "integration.webhook.dispatcher"
    _description = "Webhook Dispatcher"

    @api.model
    def _cron_dispatch(self):
        """Dispatcher cron: sends due deliveries batch after batch while the
        cron's time allows, reporting progress with ``_commit_progress``,
        and waits for those falling due within ``SHORT_WAIT`` seconds (a first
        retry, an expiring lease) so that they go out on time. When time is
        up with work left, the cron is triggered again so that it goes on at
        once."""
        cron = self.env["ir.cron"]
        # Start from a fresh transaction: the claim must see every delivery
        # committed so far.
        cron._commit_progress(0)
        helped = False
        while True:
            claimed, sent = self._dispatch_batch()
            remaining = self._count_due() if sent and claimed == BATCH_SIZE else 0
            if remaining > BATCH_SIZE and not helped:
                # More than one batch is waiting: let idle dispatchers help.
                self._wake()
                helped = True
            time_left = cron._commit_progress(remaining=remaining)
            if not remaining:
                # A batch none of which could be sent within its lease would
                # come back at once: that one waits for the next round.
                wait = self._linger(time_left) if sent or not claimed else None
                if wait is None:
                    return
                time.sleep(wait)
                continue
            if not time_left:
                break
        # The cron framework reschedules a job that reports remaining work,
        # but without waking the cron threads; the trigger does (after commit).
        if cron_id := self.env.context.get("cron_id"):
            cron.browse(cron_id).sudo()._trigger()

    @api.model
    def _dispatch_batch(self, limit=BATCH_SIZE):
        """Claims up to ``limit`` due deliveries (committing the claim), sends
        them, records the outcome and commits it, reporting the deliveries
        sent as progress. Returns how many were claimed and how many sent;
        those that could not be sent within the lease are released."""
        lease = self._lease()
        claimed, messages = self._claim(limit, lease)
        if not claimed:
            return 0, 0
        deadline = time.time() + lease - LEASE_MARGIN
        results = self._sender().send_many(messages, deadline=deadline)
        self._record(claimed, results)
        sent = sum(result.sent for result in results)
        self.env["ir.cron"]._commit_progress(sent)
        return len(claimed), sent

    @api.model
    def _sender(self):
        """The process-wide sender: its connections to receivers stay open
        from one batch to the next."""
        global _sender
        with _sender_lock:
            if _sender is None:
                _sender = webhook_http.Sender()
            return _sender

    @api.model
    def _lease(self):
        """Seconds a claim reserves its deliveries (``LEASE_PARAM``, default
        ``LEASE``): how long a delivery left in sending by a dispatcher that
        died waits before another claims it. It must exceed the endpoints'
        timeout by ``LEASE_MARGIN``, or their requests never start."""
        value = self.env["ir.config_parameter"].sudo().get_param(LEASE_PARAM) or LEASE
        try:
            return max(int(value), LEASE_MARGIN + 1)
        except ValueError:
            _logger.warning("%s is not a number of seconds: %r", LEASE_PARAM, value)
            return LEASE

    @api.model
    def _endpoints(self, horizon):
        """Returns ``{endpoint id: (max_per_second, throttle_next_at)}`` of
        the endpoints whose deliveries may be sent before Unix time
        ``horizon``, and the ids of the others (archived, disabled or
        throttled beyond it), which are held back."""
        self.env.cr.execute(
            SQL(
                "SELECT e.id, e.max_per_second, COALESCE(e.throttle_next_at, 0), %s"
                "  FROM integration_webhook_endpoint e",
                SQL(_SENDABLE, horizon=horizon),
            )
        )
        sendable, held = {}, []
        for endpoint_id, rate, next_slot, ok in self.env.cr.fetchall():
            if ok:
                sendable[endpoint_id] = (rate, next_slot)
            else:
                held.append(endpoint_id)
        return sendable, held

    @api.model
    def _first_waiting(self, sendable, held, now, limit, lock=False):
        """A FROM item ``w`` (``id``, ``endpoint_id``, ``next_attempt_at``):
        the first ``limit`` deliveries waiting until ``now`` on the
        ``sendable`` endpoints - that many of each endpoint when some are
        ``held`` back - locked for this transaction with ``lock``."""
        return SQL(
            _FIRST_WAITING_BY_ENDPOINT if held else _FIRST_WAITING,
            sendable=list(sendable),
            waiting=SQL(_WAITING, now=now),
            limit=limit,
            lock=SQL(_LOCK) if lock else SQL(),
        )

    @api.model
    def _count_due(self):
        """How many deliveries may be claimed now, counted up to COUNT_CAP."""
        now = utcnow()
        sendable, held = self._endpoints(time.time() + THROTTLE_HORIZON)
        self.env.cr.execute(
            SQL(
                """
                SELECT (SELECT count(*) FROM %(waiting)s)
                     + (SELECT count(*) FROM (
                            SELECT 1 FROM integration_webhook_delivery d
                             WHERE %(expired)s AND %(not_held)s
                             LIMIT %(cap)s) AS expired)
                """,
                waiting=self._first_waiting(sendable, held, now, COUNT_CAP),
                expired=SQL(_EXPIRED, now=now),
                not_held=SQL(_NOT_HELD, held=held),
                cap=COUNT_CAP,
            )
        )
        return min(self.env.cr.fetchone()[0], COUNT_CAP)

    @api.model
    def _linger(self, time_left):
        """Seconds the dispatcher cron should wait for the next delivery to
        fall due, or None when none does within ``SHORT_WAIT`` seconds: the
        cron's next round takes those. One due after this run's share of the
        cron worker (``time_left``) gets a new run, which waits for it after
        whatever other job is due. Only in a cron run: whoever calls the
        dispatcher by hand gets control back."""
        cron_id = self.env.context.get("cron_id")
        if not cron_id:
            return None
        now = utcnow()
        horizon = now + timedelta(seconds=SHORT_WAIT)
        sendable, held = self._endpoints(time.time() + SHORT_WAIT)
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
                waiting=self._first_waiting(sendable, held, horizon, 1),
                expired=SQL(_EXPIRED, now=horizon),
                not_held=SQL(_NOT_HELD, held=held),
            )
        )
        dues = []
        for at, endpoint_id in self.env.cr.fetchall():
            rate, next_slot = sendable[endpoint_id]
            if rate:
                # A throttled endpoint's deliveries wait for its next send
                # slot to come within the reservation horizon.
                free = datetime.fromtimestamp(next_slot - THROTTLE_HORIZON, UTC)
                at = max(at, free.replace(tzinfo=None))
            dues.append(at)
        due = min(dues, default=None)
        if due is None or due > horizon:
            return None
        wait = max((due - now).total_seconds(), SHORT_WAIT_MIN)
        if wait > time_left:
            self.env["ir.cron"].browse(cron_id).sudo()._trigger()
            return None
        # Ends the transaction: the claim after the wait needs a fresh
        # snapshot, and none is held meanwhile.
        self.env["ir.cron"]._commit_progress(0)
        return wait

    # -- claiming -------------------------------------------------------------

    @api.model
    def _claim(self, limit, lease=LEASE):
        """Reserves due deliveries for this dispatcher for ``lease`` seconds
        and commits.

        Returns the claimed rows (dicts) and the HTTP request of each, in the
        same order. Rows another dispatcher holds are skipped, never waited
        for.
        """
        for attempt in range(TRIES):
            try:
                claimed = self._claim_rows(limit, lease)
                makers = {}
                endpoints = self.env["integration.webhook.endpoint"].sudo()
                for endpoint_id in {row["endpoint_id"] for row in claimed}:
                    makers[endpoint_id] = endpoints.browse(endpoint_id)._message_maker()
                messages = [
                    makers[row["endpoint_id"]](
                        row["uuid"], row["payload"], row["not_before"]
                    )
                    for row in claimed
                ]
                self.env["ir.cron"]._commit_progress(0)
                return claimed, messages
            except psycopg2.errors.SerializationFailure:
                # Another dispatcher changed a row between our snapshot and our
                # lock (Odoo runs in REPEATABLE READ): start over on a fresh
                # snapshot, as ir.cron does when acquiring a job.
                self._collided(attempt)
        return [], []

    def _claim_rows(self, limit, lease=LEASE):
        cr = self.env.cr
        now = utcnow()
        sendable, held = self._endpoints(time.time() + THROTTLE_HORIZON)
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
                    self._first_waiting(sendable, held, now, left, lock=True),
                    left,
                ),
                log_exceptions=False,
            )
            candidates += cr.fetchall()
        candidates = [
            (delivery_id, endpoint_id, sendable[endpoint_id][0])
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
        for row in claimed:
            row["not_before"] = slots[row["id"]]
        claimed.sort(key=lambda row: row["not_before"])
        self.env["integration.webhook.delivery"].invalidate_model()
        return claimed

    def _reserve_send_slots(self, candidates):
        """Returns {delivery id: Unix time before which not to send it} for
        the candidates that may be sent now.

        Deliveries of throttled endpoints get evenly spaced slots within the
        next THROTTLE_HORIZON seconds, reserved on the endpoint row so that
        the rate holds across every dispatcher; the others may go at once.
        """
        slots = {}
        throttled = defaultdict(list)
        for delivery_id, endpoint_id, rate in candidates:
            if rate:
                throttled[endpoint_id].append(delivery_id)
            else:
                slots[delivery_id] = 0.0
        if not throttled:
            return slots
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT id, max_per_second, COALESCE(throttle_next_at, 0)
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
        for endpoint_id, rate, next_at in cr.fetchall():
            start = max(now, next_at)
            free = math.floor((now + THROTTLE_HORIZON - start) * rate) + 1
            taken = throttled[endpoint_id][: max(free, 0)]
            for index, delivery_id in enumerate(taken):
                slots[delivery_id] = start + index / rate
            if taken:
                cr.execute(
                    SQL(
                        "UPDATE integration_webhook_endpoint SET throttle_next_at = %s "
                        "WHERE id = %s",
                        start + len(taken) / rate,
                        endpoint_id,
                    ),
                    log_exceptions=False,
                )
        self.env["integration.webhook.endpoint"].invalidate_model(["throttle_next_at"])
        return slots

    # -- recording ------------------------------------------------------------

    @api.model
    def _record(self, claimed, results):
        """Stores the attempts, the new state of each claimed delivery and
        the endpoints' health, in one transaction (left for the caller to
        commit) tried again when it collides with another dispatcher."""
        outcomes = _Outcomes(self.env, utcnow())
        for row, result in zip(claimed, results, strict=True):
            outcomes.add(row, result)
        for attempt in range(TRIES):
            try:
                self._store_outcomes(outcomes)
                disabled = self._update_health(outcomes.health, outcomes.now)
                if disabled:
                    endpoints = self.env["integration.webhook.endpoint"].sudo()
                    endpoints.browse(disabled)._notify_disabled()
                return
            except psycopg2.errors.SerializationFailure:
                self._collided(attempt)
        _logger.warning(
            "Could not record the outcome of %d webhook deliveries; they will be "
            "sent again when their lease expires.",
            len(claimed),
        )

    def _collided(self, attempt):
        self.env.cr.rollback()
        self.env.invalidate_all()
        _logger.debug("webhook dispatcher collided with another (try %d)", attempt + 1)
        # Jitter, so that colliding dispatchers do not collide again.
        time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311

    def _store_outcomes(self, outcomes):
        cr = self.env.cr
        if outcomes.attempts:
            cr.execute(
                SQL(
                    """
                    INSERT INTO integration_webhook_attempt
                        (delivery_id, endpoint_id, started_at, duration_ms,
                         status_code, response_excerpt, error, succeeded,
                         create_uid, create_date, write_uid, write_date)
                    VALUES %s
                    """,
                    SQL(", ").join(
                        SQL(
                            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            *values,
                            self.env.uid,
                            outcomes.now,
                            self.env.uid,
                            outcomes.now,
                        )
                        for values in outcomes.attempts
                    ),
                ),
            )
        values = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s::timestamp, %s::int, %s::varchar, %s::timestamp, %s)",
                *update,
            )
            for update in outcomes.updates
        )
        cr.execute(
            SQL(_STORE_OUTCOMES, now=outcomes.now, values=values), log_exceptions=False
        )
        self.env["integration.webhook.delivery"].invalidate_model()
        self.env["integration.webhook.attempt"].invalidate_model()

    def _update_health(self, health, now):
        """Moves the endpoints' health counters, disabling those that answered
        410 or had no 2xx for DISABLE_AFTER. Returns the ids of the endpoints
        this disabled."""
        cr = self.env.cr
        disabled = []
        for endpoint_id in sorted(health):
            stats = health[endpoint_id]
            # A 410 disables the endpoint even when other deliveries of the
            # same batch got through before it.
            if stats["success"] and not stats["gone"]:
                # Any 2xx in the batch: the receiver works. The condition keeps
                # a busy endpoint's row from being rewritten on every batch.
                cr.execute(
                    SQL(
                        """
                        UPDATE integration_webhook_endpoint
                           SET consecutive_failures = 0,
                               failing_since = NULL,
                               last_success_at = GREATEST(last_success_at, %(at)s)
                         WHERE id = %(id)s
                           AND (consecutive_failures != 0 OR failing_since IS NOT NULL
                                OR last_success_at IS NULL
                                OR last_success_at < %(stale)s)
                        """,
                        at=stats["success"],
                        id=endpoint_id,
                        stale=stats["success"] - SUCCESS_PRECISION,
                    ),
                    log_exceptions=False,
                )
                continue
            cr.execute(
                SQL(
                    """
                    UPDATE integration_webhook_endpoint
                       SET consecutive_failures = consecutive_failures + %s,
                           failing_since = COALESCE(failing_since, %s)
                     WHERE id = %s
                 RETURNING failing_since
                    """,
                    stats["failures"],
                    stats["first"],
                    endpoint_id,
                ),
                log_exceptions=False,
            )
            row = cr.fetchone()
            if not row:
                continue  # deleted meanwhile
            since = row[0]
            if stats["gone"]:
                reason = self.env._("the receiver answered 410 Gone")
            elif since <= now - DISABLE_AFTER:
                reason = self.env._(
                    "no successful delivery since %(since)s",
                    since=since.replace(microsecond=0),
                )
            else:
                continue
            cr.execute(
                SQL(
                    """
                    UPDATE integration_webhook_endpoint
                       SET disabled_at = %s, disabled_reason = %s
                     WHERE id = %s AND disabled_at IS NULL
                 RETURNING id
                    """,
                    now,
                    reason,
                    endpoint_id,
                ),
                log_exceptions=False,
            )
            disabled.extend(row[0] for row in cr.fetchall())
        self.env["integration.webhook.endpoint"].invalidate_model()
        return disabled

    # -- the dispatcher crons ---------------------------------------------------

    @api.model
    def _wake(self, one=None):
        """Triggers the active dispatcher crons (after commit); only one of
        them, picked by the integer ``one``, when one is enough.

        What ``ir.cron._trigger()`` does, at a fraction of its cost on the
        path of every request that queues a webhook: the crons are found
        with one query, and the cron workers are notified on a connection
        this process keeps, where Odoo opens (and closes) one each time."""
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id
                  FROM ir_cron c
                  JOIN ir_model_data d ON d.res_id = c.id AND d.model = 'ir.cron'
                 WHERE d.module = 'integration_gateway' AND d.name LIKE %s
                   AND c.active
                 ORDER BY c.id
                """,
                DISPATCHER_XMLID.replace("%d", "%"),
            )
        )
        cron_ids = [row[0] for row in self.env.cr.fetchall()]
        if not cron_ids:
            return
        if one is not None:
            cron_ids = [cron_ids[one % len(cron_ids)]]
        now = fields.Datetime.now()
        self.env["ir.cron.trigger"].sudo().create(
            [{"cron_id": cron_id, "call_at": now} for cron_id in cron_ids]
        )
        self.env.cr.postcommit.add(self._notify_cron_workers)

    def _notify_cron_workers(self):
        dbname = self.env.cr.dbname
        try:
            with _postgres_connections().cursor() as cr:
                cr.execute(
                    psycopg2.sql.SQL("SELECT {}('cron_trigger', %s)").format(
                        psycopg2.sql.Identifier(ODOO_NOTIFY_FUNCTION)
                    ),
                    [dbname],
                )
        except psycopg2.Error as exc:
            # The trigger is committed: the cron workers find it at their
            # next check, within a minute.
            _logger.warning("Could not wake the webhook dispatchers: %s", exc)

    @api.model
    def _crons(self):
        """The dispatcher crons, active or not, in their order."""
        return self.env["ir.cron"].sudo().union(*self._crons_by_number().values())

    @api.model
    def _crons_by_number(self):
        data = (
            self.env["ir.model.data"]
            .sudo()
            .search_fetch(
                [
                    ("module", "=", "integration_gateway"),
                    ("model", "=", "ir.cron"),
                    ("name", "=like", DISPATCHER_XMLID.replace("%d", "%")),
                ],
                ["name", "res_id"],
            )
        )
        crons = self.env["ir.cron"].sudo().with_context(active_test=False)
        by_number = {}
        for row in data:
            number = row.name.rsplit("_", 1)[1]
            if number.isdigit() and (cron := crons.browse(row.res_id).exists()):
                by_number[int(number)] = cron
        return dict(sorted(by_number.items()))

    @api.model
    def _sync_crons(self, count=None):
        """Makes exactly ``count`` dispatcher crons active (default: the
        ``integration_gateway.dispatcher_count`` setting), creating missing
        ones like the first and archiving the extra ones."""
        if count is None:
            count = int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("integration_gateway.dispatcher_count", 2)
            )
        if not 1 <= count <= MAX_DISPATCHERS:
            raise UserError(
                self.env._(
                    "The number of webhook dispatchers must be between 1 and %(max)s.",
                    max=MAX_DISPATCHERS,
                )
            )
        crons = self._crons_by_number()
        if not crons:
            raise UserError(
                self.env._(
                    "The webhook dispatcher cron is missing: update the "
                    "integration_gateway module to restore it."
                )
            )
        model = next(iter(crons.values()))
        for number in range(1, count + 1):
            if number not in crons:
                crons[number] = model.copy(
                    {
                        "name": f"Integrations: webhook dispatcher {number}",
                        "active": True,
                    }
                )
                xmlid = f"integration_gateway.{DISPATCHER_XMLID % number}"
                self.env["ir.model.data"].sudo()._update_xmlids(
                    [{"xml_id": xmlid, "record": crons[number], "noupdate": True}]
                )
        for number, cron in crons.items():
            if cron.active != (number <= count):
                cron.active = number <= count


class _Outcomes:
    """What a batch of sends came to: rows to store and health to move."""

    def __init__(self, env, now):
        self.env = env
        self.now = now
        # (id, state, attempts, due, status, error, delivered_at, lease token)
        self.updates = []
        # (delivery, endpoint, started, ms, status, excerpt, error, succeeded)
        self.attempts = []
        self.health = defaultdict(
            lambda: {"success": None, "failures": 0, "first": None, "gone": False}
        )
        self._schedules = {}

    def _schedule(self, endpoint_id):
        if endpoint_id not in self._schedules:
            endpoint = (
                self.env["integration.webhook.endpoint"].sudo().browse(endpoint_id)
            )
            self._schedules[endpoint_id] = retry.parse_schedule(endpoint.retry_schedule)
        return self._schedules[endpoint_id]

    def add(self, row, result):
        token, count = row["lease_token"], row["attempt_count"] or 0
        if not result.sent:
            state = "retrying" if count else "pending"
            self.updates.append(
                (row["id"], state, count, self.now, None, None, None, token)
            )
            return
        endpoint_id = row["endpoint_id"]
        started = datetime.fromtimestamp(result.started_at, UTC).replace(tzinfo=None)
        outcome = retry.classify(result.status_code)
        self.attempts.append(
            (
                row["id"],
                endpoint_id,
                started,
                result.duration_ms,
                result.status_code,
                result.response_excerpt or None,
                result.error,
                outcome is retry.Outcome.DELIVERED,
            )
        )
        count += 1
        status, stats = result.status_code, self.health[endpoint_id]
        if outcome is retry.Outcome.DELIVERED:
            stats["success"] = max(stats["success"] or started, started)
            self.updates.append(
                (row["id"], "delivered", count, None, status, None, started, token)
            )
            return
        error = error_text(result)
        stats["failures"] += 1
        stats["first"] = min(stats["first"] or started, started)
        if outcome is retry.Outcome.GONE:
            # The endpoint gets disabled; the delivery waits for it in pending.
            stats["gone"] = True
            self.updates.append(
                (row["id"], "pending", count, self.now, status, error, None, token)
            )
            return
        delay = retry.retry_delay(
            count, self._schedule(endpoint_id), status, result.retry_after
        )
        if delay is None:
            self.updates.append(
                (row["id"], "dead", count, None, status, error, None, token)
            )
        else:
            due = self.now + timedelta(seconds=delay)
            self.updates.append(
                (row["id"], "retrying", count, due, status, error, None, token)
            )


def error_text(result):
    """One line saying why an attempt failed."""
    if result.error:
        return result.error
    excerpt = " ".join((result.response_excerpt or "").split())[:200]
    return f"HTTP {result.status_code}" + (f": {excerpt}" if excerpt else "")
