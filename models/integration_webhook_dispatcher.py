import logging
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2.errors

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import retry, webhook_http
from .integration_webhook_endpoint import DISABLE_AFTER

_logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # deliveries claimed at once by a dispatcher
LEASE = 120  # seconds a claimed delivery is reserved for its dispatcher
LEASE_MARGIN = 10  # seconds kept between the last possible answer and the lease end
THROTTLE_HORIZON = 1.0  # seconds of send slots a dispatcher reserves ahead
TRIES = 5  # a transaction colliding with another dispatcher is tried again
COUNT_CAP = 10000  # due deliveries counted at most, to keep the count cheap
# A retry due sooner than this is waited for within the cron's run instead of
# for the next wake-up of the cron threads (every minute when nothing wakes
# them); Odoo grants a cron run at least 10 seconds.
SHORT_WAIT = 10  # seconds
SUCCESS_PRECISION = timedelta(seconds=10)  # of an endpoint's last_success_at
DISPATCHER_XMLID = "ir_cron_webhook_dispatcher_%d"
MAX_DISPATCHERS = 32

# Deliveries that may be claimed now: due, or left in sending by a dispatcher
# whose lease expired, on an endpoint that is active, not disabled, and not
# throttled beyond the reservation horizon.
_DUE = """
    e.active AND e.disabled_at IS NULL
    AND (e.max_per_second = 0 OR COALESCE(e.throttle_next_at, 0) <= %(horizon)s)
    AND (
        (d.state IN ('pending', 'retrying') AND d.next_attempt_at <= %(now)s)
        OR (d.state = 'sending' AND d.lease_expires_at <= %(now)s)
    )
"""

# The outcome of a batch, on the rows still leased to this dispatcher only:
# one whose lease ran out may have been claimed again, and its new owner
# records it.
_STORE_OUTCOMES = """
    UPDATE integration_webhook_delivery d
       SET state = v.state,
           attempt_count = v.attempts,
           next_attempt_at = v.due,
           last_status_code = COALESCE(v.status, d.last_status_code),
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
        cron's time allows, reporting progress with ``_commit_progress``.
        When time is up with work left, the cron is triggered again so that
        it goes on at once."""
        cron = self.env["ir.cron"]
        # Start from a fresh transaction: the claim must see every delivery
        # committed so far.
        cron._commit_progress(0)
        in_cron = bool(self.env.context.get("cron_id"))
        helped = False
        while True:
            claimed, sent = self._dispatch_batch()
            remaining = self._count_due() if sent and claimed == BATCH_SIZE else 0
            if remaining > BATCH_SIZE and not helped:
                # More than one batch is waiting: let idle dispatchers help.
                self._wake()
                helped = True
            wait = self._seconds_to_next_due() if in_cron and not remaining else None
            time_left = cron._commit_progress(remaining=remaining)
            if remaining:
                if not time_left:
                    break
                continue
            if wait is None or wait > min(SHORT_WAIT, time_left):
                return
            # Committed above: the claim after the wait sees a fresh snapshot.
            time.sleep(wait)
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
        claimed, messages = self._claim(limit)
        if not claimed:
            return 0, 0
        deadline = time.time() + LEASE - LEASE_MARGIN
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
    def _count_due(self):
        """How many deliveries may be claimed now, counted up to COUNT_CAP."""
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM (
                    SELECT 1
                      FROM integration_webhook_delivery d
                      JOIN integration_webhook_endpoint e ON e.id = d.endpoint_id
                     WHERE %s
                     LIMIT %s
                ) AS due
                """,
                self._due(),
                COUNT_CAP,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _seconds_to_next_due(self):
        """Seconds until the next waiting delivery falls due, or None."""
        self.env.cr.execute(
            SQL(
                """
                SELECT min(d.next_attempt_at)
                  FROM integration_webhook_delivery d
                  JOIN integration_webhook_endpoint e ON e.id = d.endpoint_id
                 WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at > %s
                   AND e.active AND e.disabled_at IS NULL
                """,
                utcnow(),
            )
        )
        due = self.env.cr.fetchone()[0]
        return max((due - utcnow()).total_seconds(), 0) if due else None

    @staticmethod
    def _due():
        return SQL(_DUE, now=utcnow(), horizon=time.time() + THROTTLE_HORIZON)

    # -- claiming -------------------------------------------------------------

    @api.model
    def _claim(self, limit):
        """Reserves due deliveries for this dispatcher and commits.

        Returns the claimed rows (dicts) and the HTTP request of each, in the
        same order. Rows another dispatcher holds are skipped, never waited
        for.
        """
        for attempt in range(TRIES):
            try:
                claimed = self._claim_rows(limit)
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

    def _claim_rows(self, limit):
        cr = self.env.cr
        now = utcnow()
        cr.execute(
            SQL(
                """
                SELECT d.id, d.endpoint_id, e.max_per_second
                  FROM integration_webhook_delivery d
                  JOIN integration_webhook_endpoint e ON e.id = d.endpoint_id
                 WHERE %s
                 ORDER BY d.next_attempt_at, d.id
                 LIMIT %s
                   FOR NO KEY UPDATE OF d SKIP LOCKED
                """,
                self._due(),
                limit,
            ),
            log_exceptions=False,
        )
        candidates = cr.fetchall()
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
                now + timedelta(seconds=LEASE),
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
            if stats["success"]:
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
        """Triggers the dispatcher crons (after commit); only one of them,
        picked by the integer ``one``, when one is enough."""
        crons = self._crons().filtered("active")
        if not crons:
            return
        if one is not None:
            crons = crons[one % len(crons)]
        for cron in crons:
            cron._trigger()

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
