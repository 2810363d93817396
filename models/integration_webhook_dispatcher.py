import functools
import logging
import random
import threading
import time

import psycopg2.errors

from odoo import api, models

from ..lib.outbox import breaker, flight, sender

_logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # deliveries claimed at once by a dispatcher
LEASE = 120  # seconds a claimed delivery is reserved for its dispatcher, by default
LEASE_PARAM = "integration_gateway.dispatch_lease"
LEASE_MARGIN = 10  # seconds kept between the last possible answer and the lease end
TRIES = 5  # a transaction colliding with another dispatcher is tried again
# The outcome of requests sent is tried far longer: given up, its deliveries
# would stay in sending until their lease ends, then be sent again. Every
# dispatcher records each request as it ends, on the same endpoint rows, so
# collisions come in runs.
RECORD_TRIES = 60

_sender_lock = threading.Lock()
_sender = None


class IntegrationWebhookDispatcher(models.AbstractModel):
    """Sends queued webhooks: what the dispatcher crons run.

    It decides nothing itself: :mod:`lib.outbox` says what a try does to a
    delivery, when an endpoint is disabled and how throttled deliveries are
    spaced; this model claims the rows, sends, and stores the answers.

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

    # The claim and its queries are in integration_webhook_dispatcher_claim.py,
    # the recording of a batch in integration_webhook_dispatcher_store.py.

    @api.model
    def _cron_dispatch(self):
        """Dispatcher cron: sends due deliveries batch after batch while the
        cron's time allows, reporting progress with ``_commit_progress``,
        and waits for those falling due within ``pacing.SHORT_WAIT`` seconds (a first
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
                cron._integration_wake_dispatchers()
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
        them, and records and commits their outcomes as their requests end,
        reporting the deliveries sent as progress. Returns how many were
        claimed and how many sent; those that could not be sent within the
        lease, or whose endpoint's circuit opened or pace was cut meanwhile,
        are released.

        A request starts only once the outcomes of those that ended before
        it are committed (:func:`lib.outbox.flight.stream`): a crash sends
        again at most the sender's concurrency, not the batch."""
        lease = self._lease()
        claimed, messages, settings = self._claim(limit, lease)
        if not claimed:
            return 0, 0
        claimed_at = time.time()
        deadline = claimed_at + lease - LEASE_MARGIN
        keys = [row["endpoint_id"] for row in claimed]
        # The endpoints this batch probes: their circuit is half-open for
        # the probe's sake, which must not hold the probe back.
        probing = {row["endpoint_id"] for row in claimed if row.get("probe")}
        failures, threshold = self._breaker_state(set(keys))
        poster = self._sender()
        plan = flight.Plan(keys, failures, threshold, poster.concurrency)
        sent = 0
        steps = flight.stream(
            functools.partial(poster.send, deadline=deadline),
            messages,
            keys,
            plan.decide,
            poster.concurrency,
        )
        for ended in steps:
            if not ended:
                continue
            self._record(
                [claimed[index] for index, _result in ended],
                [result for _index, result in ended],
                settings,
            )
            done = 0
            for index, result in ended:
                plan.learn(
                    keys[index],
                    sent=result.sent,
                    outcome=breaker.outcome(result.status_code),
                )
                done += result.sent
            sent += done
            self._commit_outcomes()
            plan.hold(self._held_back(set(keys), claimed_at, probing))
        # The progress the cron shows, once per batch: a write of its
        # progress row at every commit of outcomes cost a statement and the
        # ORM's bookkeeping each time.
        self.env["ir.cron"]._commit_progress(sent)
        return len(claimed), sent

    def _commit_outcomes(self):
        """Commits the outcomes recorded so far (see ``_dispatch_batch``):
        ir.cron's ``_commit_progress`` outside of a cron's progress, which
        only commits."""
        self.env["ir.cron"].with_context(ir_cron_progress_id=False)._commit_progress()

    @api.model
    def _sender(self):
        """The process-wide sender: its connections to receivers stay open
        from one batch to the next."""
        global _sender
        with _sender_lock:
            if _sender is None:
                _sender = sender.Sender()
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

    def _transact(self, work, tries=TRIES):
        """Runs ``work()`` in the current transaction and returns what it
        returns, trying again (up to ``tries`` times, on a fresh snapshot)
        when it collides with another dispatcher; returns None when every
        try collided."""
        for attempt in range(tries):
            try:
                return work()
            except (
                psycopg2.errors.SerializationFailure,
                psycopg2.errors.DeadlockDetected,
            ):
                # Another dispatcher changed a row between our snapshot and
                # our lock (Odoo runs in REPEATABLE READ): start over on a
                # fresh snapshot, as ir.cron does when acquiring a job.
                self.env.cr.rollback()
                self.env.invalidate_all()
                _logger.debug(
                    "webhook dispatcher collided with another (try %d)", attempt + 1
                )
                # Jitter, so that colliding dispatchers do not collide again.
                time.sleep(random.uniform(0, 0.02 * min(attempt + 1, 10)))  # noqa: S311
        return None

    # -- the dispatcher crons (see ir.cron) -----------------------------------

    @api.model
    def _wake(self, one=None, for_endpoints=None):
        """Triggers the active dispatcher crons (after commit); only one of
        them, picked by the integer ``one``, when one is enough; with
        ``for_endpoints`` (ids), only if one of them can be sent to (active
        and not disabled)."""
        self.env["ir.cron"]._integration_wake_dispatchers(
            one=one, for_endpoints=for_endpoints
        )

    @api.model
    def _crons(self):
        """The dispatcher crons, active or not, in their order."""
        return self.env["ir.cron"]._integration_dispatcher_crons()

    @api.model
    def _sync_crons(self, count=None):
        """Makes exactly ``count`` dispatcher crons active (default: the
        ``integration_gateway.dispatcher_count`` setting)."""
        self.env["ir.cron"]._integration_sync_dispatchers(count)
