import logging
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import retry, webhook_http
from .integration_webhook_endpoint import DISABLE_AFTER

_logger = logging.getLogger(__name__)

BATCH_SIZE = 100  # deliveries claimed at once by a dispatcher
LEASE = 120  # seconds a claimed delivery is reserved for its dispatcher
LEASE_MARGIN = 10  # seconds kept between the last possible answer and the lease end
THROTTLE_HORIZON = 1.0  # seconds of send slots a dispatcher reserves ahead
CLAIM_TRIES = 3  # a claim that collides with another dispatcher is tried again
HEALTH_TRIES = 5  # the same for the endpoints' health counters
GC_BATCH = 5000  # rows removed at once by the retention clean-up
SUCCESS_PRECISION = timedelta(seconds=10)  # of an endpoint's last_success_at
COUNT_CAP = 10000  # due deliveries counted at most, to keep the count cheap
DISPATCHER_XMLID = "ir_cron_webhook_dispatcher_%d"
MAX_DISPATCHERS = 32

STATES = [
    ("pending", "Pending"),
    ("sending", "Sending"),
    ("retrying", "Retrying"),
    ("delivered", "Delivered"),
    ("dead", "Dead"),
    ("cancelled", "Cancelled"),
]
WAITING_STATES = ("pending", "retrying")

# Records the outcome of a batch. Only rows still leased to this dispatcher:
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
           write_date = now() AT TIME ZONE 'UTC'
      FROM (VALUES %s)
        AS v(id, state, attempts, due, status, error, delivered_at, token)
     WHERE d.id = v.id AND d.lease_token = v.token
"""

_sender_lock = threading.Lock()
_sender = None


def _utcnow():
    """Now, as a naive UTC datetime with microseconds (Odoo's storage
    convention; the precision matters for retries seconds apart)."""
    return datetime.now(UTC).replace(tzinfo=None)


class IntegrationWebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row written in the same
    transaction as the business change, then sent (and retried) by the
    dispatcher crons until delivered or dead."""

    _name = "integration.webhook.delivery"
    _description = "Webhook Delivery"
    _order = "id desc"
    _rec_name = "uuid"

    uuid = fields.Char(
        string="Webhook ID",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: str(uuid.uuid4()),
        help="Sent as webhook-id; the same on every retry so that receivers can "
        "ignore a delivery they already processed.",
    )
    endpoint_id = fields.Many2one(
        "integration.webhook.endpoint",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    res_model = fields.Char(string="Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True, aggregator=None
    )
    action_id = fields.Many2one("ir.actions.server", readonly=True, ondelete="set null")
    payload = fields.Text(required=True, readonly=True, help="The JSON body, as sent.")
    state = fields.Selection(STATES, default="pending", required=True, readonly=True)
    attempt_count = fields.Integer(
        default=0,
        readonly=True,
        aggregator=None,
        help="Attempts since the delivery was queued or requeued.",
    )
    next_attempt_at = fields.Datetime(
        default=fields.Datetime.now, readonly=True, help="When it is due."
    )
    lease_expires_at = fields.Datetime(readonly=True, copy=False)
    lease_token = fields.Char(readonly=True, copy=False)
    last_status_code = fields.Integer(readonly=True, aggregator=None)
    last_error = fields.Char(readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    is_test = fields.Boolean(string="Test Event", readonly=True)
    attempt_ids = fields.One2many(
        "integration.webhook.attempt", "delivery_id", readonly=True
    )

    _uuid_unique = models.Constraint("UNIQUE(uuid)", "A webhook ID is used only once.")
    _due_index = models.Index(
        "(next_attempt_at, id) WHERE state IN ('pending', 'retrying', 'sending')"
    )

    # -- actions -------------------------------------------------------------

    def action_retry_now(self):
        """Makes waiting deliveries due at once."""
        waiting = self.filtered(lambda d: d.state in WAITING_STATES)
        if waiting != self:
            raise UserError(
                self.env._("Only pending or retrying deliveries can be retried now.")
            )
        waiting.write({"next_attempt_at": fields.Datetime.now()})
        self._wake_dispatchers()
        return True

    def action_cancel(self):
        """Gives up on deliveries that are not delivered yet."""
        if self.filtered(lambda d: d.state == "sending"):
            raise UserError(
                self.env._(
                    "A delivery is being sent right now; cancel it once its attempt "
                    "is over."
                )
            )
        if self.filtered(lambda d: d.state == "delivered"):
            raise UserError(self.env._("Delivered webhooks cannot be cancelled."))
        self.write({"state": "cancelled", "next_attempt_at": False})
        return True

    def action_requeue(self):
        """Queues dead or cancelled deliveries again, with the same webhook id
        and a fresh retry schedule."""
        if self.filtered(lambda d: d.state not in ("dead", "cancelled")):
            raise UserError(
                self.env._("Only dead or cancelled deliveries can be requeued.")
            )
        self.write(
            {
                "state": "pending",
                "attempt_count": 0,
                "next_attempt_at": fields.Datetime.now(),
            }
        )
        self._wake_dispatchers()
        return True

    # -- queueing -------------------------------------------------------------

    @api.model
    def _enqueue(self, endpoint, payload, record=None, action=None):
        """Writes a delivery in the current transaction and wakes a dispatcher
        when the transaction commits."""
        delivery = self.sudo().create(
            {
                "endpoint_id": endpoint.id,
                "payload": payload,
                "res_model": record._name if record else False,
                "res_id": record.id if record else False,
                "action_id": action.id if action else False,
            }
        )
        data = self.env.cr.precommit.data
        if "integration_gateway.wake" not in data:
            data["integration_gateway.wake"] = delivery.id
            # At commit time, so that a rolled-back savepoint cannot take the
            # wake-up away from deliveries created after it.
            self.env.cr.precommit.add(self.sudo()._wake_dispatcher_on_commit)
        return delivery

    def _wake_dispatcher_on_commit(self):
        token = self.env.cr.precommit.data.get("integration_gateway.wake", 0)
        self._wake_dispatchers(one=token)

    @api.model
    def _wake_dispatchers(self, one=None):
        """Triggers the dispatcher crons; only one of them (picked by ``one``,
        an integer spreading the load) when one is enough."""
        crons = self._dispatcher_crons().filtered("active")
        if not crons:
            return
        if one is not None:
            crons = crons[one % len(crons)]
        for cron in crons:
            cron._trigger()

    # -- dispatching ----------------------------------------------------------

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
        helped = False
        while True:
            processed = self._dispatch_batch()
            remaining = self._count_due() if processed else 0
            if remaining > BATCH_SIZE and not helped:
                # More than one batch is waiting: let idle dispatchers help.
                self._wake_dispatchers()
                helped = True
            if not remaining:
                cron._commit_progress(processed, remaining=0)
                return
            if not cron._commit_progress(processed, remaining=remaining):
                break
        # The cron framework reschedules a job that reports remaining work,
        # but without waking the cron threads; the trigger does (after commit).
        if cron_id := self.env.context.get("cron_id"):
            cron.browse(cron_id).sudo()._trigger()

    @api.model
    def _dispatch_batch(self, limit=BATCH_SIZE):
        """Claims up to ``limit`` due deliveries, sends them and records the
        outcome. Commits the claim before sending. Returns how many were
        sent; those that could not be sent within the lease are released."""
        claimed, messages = self._claim(limit)
        if not claimed:
            return 0
        deadline = time.time() + LEASE - LEASE_MARGIN
        results = self._sender().send_many(messages, deadline=deadline)
        self._record_results(claimed, results)
        return sum(result.sent for result in results)

    @api.model
    def _sender(self):
        """The process-wide sender: its connections to receivers stay open
        from one batch to the next."""
        global _sender
        with _sender_lock:
            if _sender is None:
                _sender = webhook_http.Sender()
            return _sender

    @staticmethod
    def _due_condition(now):
        """Deliveries that may be claimed now: due, or left in sending by a
        dispatcher whose lease expired, on an endpoint that is active, not
        disabled, and not throttled beyond the reservation horizon."""
        return SQL(
            """
            e.active AND e.disabled_at IS NULL
            AND (e.max_per_second = 0
                 OR COALESCE(e.throttle_next_at, 0) <= %(horizon)s)
            AND (
                (d.state IN ('pending', 'retrying') AND d.next_attempt_at <= %(now)s)
                OR (d.state = 'sending' AND d.lease_expires_at <= %(now)s)
            )
            """,
            now=now,
            horizon=time.time() + THROTTLE_HORIZON,
        )

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
                self._due_condition(_utcnow()),
                COUNT_CAP,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _claim(self, limit, ids=None):
        """Reserves due deliveries for this dispatcher and commits.

        Returns the claimed rows (dicts) and the signed message of each, in
        the same order. Rows another dispatcher holds are skipped, never
        waited for.
        """
        for attempt in range(CLAIM_TRIES):
            try:
                claimed = self._claim_rows(limit, ids)
                endpoints = self.env["integration.webhook.endpoint"].sudo()
                messages = [
                    endpoints.browse(row["endpoint_id"])._message(
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
                self.env.cr.rollback()
                _logger.debug("webhook claim collided (try %d), retrying", attempt + 1)
        return [], []

    def _claim_rows(self, limit, ids):
        cr = self.env.cr
        now = _utcnow()
        only = SQL("AND d.id = ANY(%s)", list(ids)) if ids is not None else SQL()
        cr.execute(
            SQL(
                """
                SELECT d.id, d.endpoint_id, e.max_per_second
                  FROM integration_webhook_delivery d
                  JOIN integration_webhook_endpoint e ON e.id = d.endpoint_id
                 WHERE %(due)s %(only)s
                 ORDER BY d.next_attempt_at, d.id
                 LIMIT %(limit)s
                   FOR NO KEY UPDATE OF d SKIP LOCKED
                """,
                due=self._due_condition(now),
                only=only,
                limit=limit,
            ),
            log_exceptions=False,
        )
        candidates = cr.fetchall()
        if not candidates:
            return []
        slots = self._reserve_send_slots(candidates)
        keep = [row[0] for row in candidates if row[0] in slots]
        token = uuid.uuid4().hex
        cr.execute(
            SQL(
                """
                UPDATE integration_webhook_delivery
                   SET state = 'sending',
                       lease_expires_at = %(lease)s,
                       lease_token = %(token)s,
                       write_date = %(now)s
                 WHERE id = ANY(%(ids)s)
             RETURNING id, endpoint_id, uuid, payload, attempt_count, lease_token
                """,
                lease=now + timedelta(seconds=LEASE),
                token=token,
                now=now,
                ids=keep,
            )
        )
        claimed = cr.dictfetchall()
        for row in claimed:
            row["not_before"] = slots[row["id"]]
        claimed.sort(key=lambda row: row["not_before"])
        self.invalidate_model()
        return claimed

    def _reserve_send_slots(self, candidates):
        """Returns {delivery id: Unix time before which not to send it}.

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

    @api.model
    def _record_results(self, claimed, results):
        """Stores the attempts and the new state of each claimed delivery,
        then the endpoints' health."""
        endpoints = self.env["integration.webhook.endpoint"].sudo()
        schedules = {}
        updates, attempts = [], []
        health = defaultdict(
            lambda: {"success": None, "failures": 0, "first": None, "gone": False}
        )
        now = _utcnow()
        for row, result in zip(claimed, results, strict=True):
            if not result.sent:
                state = "retrying" if row["attempt_count"] else "pending"
                updates.append(
                    (row, state, row["attempt_count"], now, None, None, None)
                )
                continue
            endpoint_id = row["endpoint_id"]
            if endpoint_id not in schedules:
                endpoint = endpoints.browse(endpoint_id)
                schedules[endpoint_id] = retry.parse_schedule(endpoint.retry_schedule)
            started = datetime.fromtimestamp(result.started_at, UTC).replace(
                tzinfo=None
            )
            attempts.append(_attempt_values(row["id"], started, result))
            count = row["attempt_count"] + 1
            error = _error_text(result)
            outcome = retry.classify(result.status_code)
            stats = health[endpoint_id]
            if outcome is retry.Outcome.DELIVERED:
                updates.append(
                    (row, "delivered", count, None, result.status_code, None, started)
                )
                stats["success"] = max(stats["success"] or started, started)
                continue
            stats["failures"] += 1
            stats["first"] = min(stats["first"] or started, started)
            if outcome is retry.Outcome.GONE:
                # The delivery waits for the endpoint to be enabled again.
                stats["gone"] = True
                updates.append(
                    (row, "pending", count, now, result.status_code, error, None)
                )
                continue
            delay = retry.retry_delay(
                count, schedules[endpoint_id], result.status_code, result.retry_after
            )
            if delay is None:
                updates.append(
                    (row, "dead", count, None, result.status_code, error, None)
                )
            else:
                due = now + timedelta(seconds=delay)
                updates.append(
                    (row, "retrying", count, due, result.status_code, error, None)
                )
        self._store_outcomes(updates, attempts)
        self._update_health(health)

    def _store_outcomes(self, updates, attempts):
        cr = self.env.cr
        for attempt in range(CLAIM_TRIES):
            try:
                if attempts:
                    self.env["integration.webhook.attempt"].sudo().create(attempts)
                    self.env.flush_all()
                values = SQL(", ").join(
                    SQL(
                        "(%s, %s, %s, %s::timestamp, %s::int, %s, %s::timestamp, %s)",
                        row["id"],
                        state,
                        count,
                        due,
                        status,
                        error,
                        delivered,
                        row["lease_token"],
                    )
                    for row, state, count, due, status, error, delivered in updates
                )
                cr.execute(SQL(_STORE_OUTCOMES, values), log_exceptions=False)
                self.invalidate_model()
                return
            except psycopg2.errors.SerializationFailure:
                self.env.cr.rollback()
                self.env.invalidate_all()
                _logger.debug(
                    "webhook outcome collided (try %d), retrying", attempt + 1
                )
        _logger.warning(
            "Could not record the outcome of %d webhook deliveries; they will be "
            "sent again when their lease expires.",
            len(updates),
        )

    def _update_health(self, health):
        """Moves the endpoints' health counters, disabling those that answered
        410 or had no 2xx for DISABLE_AFTER. Commits, in its own transaction
        after the deliveries', trying again on a collision with another
        dispatcher updating the same endpoint."""
        self.env["ir.cron"]._commit_progress(0)
        if not health:
            return
        for attempt in range(HEALTH_TRIES):
            try:
                disabled = self._update_health_rows(health, DISABLE_AFTER)
                if disabled:
                    self.env["integration.webhook.endpoint"].sudo().browse(
                        disabled
                    )._notify_disabled()
                return
            except psycopg2.errors.SerializationFailure:
                self.env.cr.rollback()
                self.env.invalidate_all()
                # Jitter so that colliding dispatchers do not collide again.
                time.sleep(random.uniform(0, 0.05 * (attempt + 1)))  # noqa: S311
        _logger.info(
            "Health of %d webhook endpoints left as it was after repeated collisions",
            len(health),
        )

    def _update_health_rows(self, health, disable_after):
        cr = self.env.cr
        now = _utcnow()
        disabled = []
        for endpoint_id in sorted(health):
            stats = health[endpoint_id]
            if stats["success"]:
                # Any 2xx in the batch: the receiver works.
                cr.execute(
                    SQL(
                        """
                        UPDATE integration_webhook_endpoint
                           SET consecutive_failures = 0,
                               failing_since = NULL,
                               last_success_at = GREATEST(last_success_at, %s)
                         WHERE id = %s
                           AND (consecutive_failures != 0 OR failing_since IS NOT NULL
                                OR last_success_at IS NULL OR last_success_at < %s)
                        """,
                        stats["success"],
                        endpoint_id,
                        # A busy endpoint's row is rewritten at most this often.
                        stats["success"] - SUCCESS_PRECISION,
                    ),
                    log_exceptions=False,
                )
            if stats["failures"] and not stats["success"]:
                cr.execute(
                    SQL(
                        """
                        UPDATE integration_webhook_endpoint
                           SET consecutive_failures = consecutive_failures + %s,
                               failing_since = COALESCE(failing_since, %s)
                         WHERE id = %s
                        """,
                        stats["failures"],
                        stats["first"],
                        endpoint_id,
                    ),
                    log_exceptions=False,
                )
            reason = None
            if stats["gone"]:
                reason = self.env._("the receiver answered 410 Gone")
            else:
                cr.execute(
                    SQL(
                        "SELECT failing_since FROM integration_webhook_endpoint "
                        "WHERE id = %s",
                        endpoint_id,
                    ),
                    log_exceptions=False,
                )
                since = cr.fetchone()[0]
                if since and since <= now - disable_after:
                    reason = self.env._(
                        "no successful delivery since %(since)s",
                        since=fields.Datetime.to_string(since),
                    )
            if reason:
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

    def _record_test_result(self, result):
        """Stores the single attempt of a test event; test events are not
        retried and leave the endpoint's health alone."""
        self.ensure_one()
        started = datetime.fromtimestamp(result.started_at, UTC).replace(tzinfo=None)
        self.env["integration.webhook.attempt"].sudo().create(
            _attempt_values(self.id, started, result)
        )
        delivered = retry.classify(result.status_code) is retry.Outcome.DELIVERED
        self.sudo().write(
            {
                "state": "delivered" if delivered else "dead",
                "attempt_count": 1,
                "next_attempt_at": False,
                "last_status_code": result.status_code or False,
                "last_error": False if delivered else _error_text(result),
                "delivered_at": started if delivered else False,
            }
        )

    # -- dispatcher crons -----------------------------------------------------

    @api.model
    def _dispatcher_crons(self):
        """The dispatcher crons, active or not, in their order."""
        return self.env["ir.cron"].sudo().union(*self._dispatchers_by_number().values())

    @api.model
    def _dispatchers_by_number(self):
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
    def _sync_dispatchers(self, count=None):
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
        crons = self._dispatchers_by_number()
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
                    {"name": _dispatcher_name(number), "active": True}
                )
                xmlid = f"integration_gateway.{DISPATCHER_XMLID % number}"
                self.env["ir.model.data"].sudo()._update_xmlids(
                    [{"xml_id": xmlid, "record": crons[number], "noupdate": True}]
                )
        for number, cron in crons.items():
            if cron.active != (number <= count):
                cron.active = number <= count

    # -- retention ------------------------------------------------------------

    @api.autovacuum
    def _gc_delivered(self):
        """Removes delivered webhooks and attempts older than the retention
        setting, a batch at a time (the autovacuum calls again while some
        remain)."""
        days = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("integration_gateway.retention_days", 30)
        )
        if days <= 0:
            return 0, 0
        cutoff = _utcnow() - timedelta(days=days)
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                DELETE FROM integration_webhook_delivery
                 WHERE id IN (SELECT id FROM integration_webhook_delivery
                               WHERE state = 'delivered' AND delivered_at < %s
                               LIMIT %s)
                """,
                cutoff,
                GC_BATCH,
            )
        )
        deliveries = cr.rowcount
        cr.execute(
            SQL(
                """
                DELETE FROM integration_webhook_attempt
                 WHERE id IN (SELECT id FROM integration_webhook_attempt
                               WHERE started_at < %s LIMIT %s)
                """,
                cutoff,
                GC_BATCH,
            )
        )
        attempts = cr.rowcount
        self.env.invalidate_all()
        done = deliveries + attempts
        more = deliveries == GC_BATCH or attempts == GC_BATCH
        return done, int(more)


def _dispatcher_name(number):
    return f"Integrations: webhook dispatcher {number}"


def _attempt_values(delivery_id, started, result):
    return {
        "delivery_id": delivery_id,
        "started_at": started,
        "duration_ms": result.duration_ms,
        "status_code": result.status_code or False,
        "response_excerpt": result.response_excerpt or False,
        "error": result.error or False,
    }


def _error_text(result):
    """One line saying why an attempt failed."""
    if result.error:
        return result.error
    excerpt = " ".join((result.response_excerpt or "").split())[:200]
    return f"HTTP {result.status_code}" + (f": {excerpt}" if excerpt else "")
