import json
import logging
import traceback
from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib.outbox import retry
from ..lib.webhook_input import printable
from ..lib.webhook_settings import HEADERS_CONTEXT_KEY as HEADERS_KEY
from ..lib.webhook_settings import PAYLOAD_CONTEXT_KEY as PAYLOAD_KEY

_logger = logging.getLogger(__name__)

MAX_ERROR = 2000  # characters of an error kept on the message
MAX_TRACEBACK = 20000  # characters of a traceback kept for administrators
WAITING = ("queued", "retrying")


class IntegrationWebhookMessage(models.Model):
    """Runs queued incoming webhook messages: what the incoming queue's
    cron does, and the buttons to run a message again.

    Each message runs in a transaction of its own, which also holds the
    message's row lock (``FOR NO KEY UPDATE SKIP LOCKED``): the
    automation's writes and the message's new state commit together or not
    at all, so a server killed in the middle leaves the message waiting,
    and it runs again in full; no message is run twice in effect. Messages
    of a validator marked ``ordered`` run one at a time, oldest first: a
    message is not taken while an older one of its validator is waiting,
    retrying included.
    """

    _inherit = "integration.webhook.message"

    @api.model
    def _cron_process_queue(self):
        """The incoming queue's cron: runs due messages one transaction each
        while the cron's time allows; with work left, triggers itself so
        that it goes on at once."""
        cron = self.env["ir.cron"]
        cron._commit_progress(0)
        Dispatcher = self.env["integration.webhook.dispatcher"]
        while True:
            ran = Dispatcher._transact(self._run_next)
            if not ran:
                return
            if not cron._commit_progress(1):
                break
        if cron_id := self.env.context.get("cron_id"):
            cron.browse(cron_id).sudo()._trigger()

    @api.model
    def _run_next(self):
        """Claims the next due message, runs its automation and records the
        outcome, in the current transaction; returns the message, or None
        when none is due."""
        message = self._claim_next()
        if message:
            message._run()
        return message

    @api.model
    def _claim_next(self):
        validators = self.env["integration.webhook.validator"]._table
        self.env.cr.execute(
            SQL(
                "SELECT m.id FROM %(table)s m"
                " JOIN %(validators)s v ON v.id = m.validator_id"
                " WHERE m.state IN %(waiting)s AND m.next_attempt_at <= %(now)s"
                "  AND (NOT COALESCE(v.ordered, FALSE) OR NOT EXISTS ("
                "   SELECT 1 FROM %(table)s o WHERE o.validator_id = m.validator_id"
                "    AND o.state IN %(waiting)s AND o.id < m.id))"
                " ORDER BY m.next_attempt_at, m.id LIMIT 1"
                " FOR NO KEY UPDATE OF m SKIP LOCKED",
                table=SQL.identifier(self._table),
                validators=SQL.identifier(validators),
                waiting=WAITING,
                # The clock retries are scheduled by (see _run), not the
                # transaction's start; to the microsecond, as the time a
                # message is queued at.
                now=datetime.now(UTC).replace(tzinfo=None),
            )
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else self.browse()

    def _run(self):
        """Runs this message's automation on its stored payload, as the
        webhook's caller would (the public user, as superuser), and records
        the outcome: done, a retry per the validator's schedule, or dead."""
        self.ensure_one()
        settings = self.validator_id._webhook_settings_of(self.validator_id.id)
        payload = json.loads(self.payload or "null")
        automation = (
            self.automation_id.with_user(self.env.ref("base.public_user"))
            .sudo()
            .with_context(
                **{
                    HEADERS_KEY: json.loads(self.request_headers or "{}"),
                    PAYLOAD_KEY: payload,
                }
            )
        )
        attempts = self.attempt_count + 1
        now = fields.Datetime.now()
        try:
            with self.env.cr.savepoint():
                automation._execute_webhook(payload)
                self.env.flush_all()
        except Exception as exc:  # noqa: BLE001 (any failure is retried)
            self.env.invalidate_all()
            delay = retry.retry_delay(attempts, settings.retry_schedule)
            self.write(
                {
                    "attempt_count": attempts,
                    "state": "dead" if delay is None else "retrying",
                    "next_attempt_at": None
                    if delay is None
                    else now + timedelta(seconds=delay),
                    "last_error": printable(str(exc) or repr(exc))[:MAX_ERROR],
                    "last_traceback": traceback.format_exc()[-MAX_TRACEBACK:],
                }
            )
            _logger.info(
                "incoming webhook message %s failed (attempt %d)%s",
                self.message_id,
                attempts,
                ", now dead" if delay is None else "",
            )
            return
        self.write(
            {
                "attempt_count": attempts,
                "state": "done",
                "next_attempt_at": None,
                "processed_at": now,
                "last_error": None,
                "last_traceback": None,
            }
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_waiting(self):
        """A waiting message is an event the sender was told is accepted:
        it is run, or dead and then discarded, never silently dropped."""
        if any(message.state in WAITING for message in self):
            raise UserError(
                self.env._(
                    "Messages waiting to run cannot be deleted; delete them once "
                    "they are done or dead."
                )
            )

    def action_run_again(self):
        """Runs dead or retrying messages again now, with a fresh schedule;
        messages already done are left alone (their automation ran).
        Returns a notification saying how many were requeued."""
        self.check_access("read")
        eligible = self.sudo().filtered(lambda m: m.state in ("dead", "retrying"))
        if eligible:
            eligible.write(
                {
                    "state": "queued",
                    "attempt_count": 0,
                    "next_attempt_at": fields.Datetime.now(),
                }
            )
            self.env["ir.cron"]._integration_wake_incoming()
        skipped = len(self) - len(eligible)
        message = self.env._(
            "%(count)s message(s) queued to run again.", count=len(eligible)
        )
        if skipped:
            message += " " + self.env._(
                "%(count)s skipped: only dead or retrying messages run again.",
                count=skipped,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success" if eligible else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_view_automation(self):
        self.check_access("read")
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "base.automation",
            "res_id": self.automation_id.id,
            "view_mode": "form",
        }
