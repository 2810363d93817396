import logging
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, models
from odoo.tools import SQL

from ..lib.outbox import delivery, endpoint
from .integration_webhook_dispatcher import RECORD_TRIES

_logger = logging.getLogger(__name__)

SUCCESS_PRECISION = timedelta(seconds=10)  # of an endpoint's last_success_at

# The outcome of a batch, on the rows still leased to this dispatcher only:
# one whose lease ran out may have been claimed again, and its new owner
# records it.
# A row released unsent carries neither a status nor an error, and keeps
# those of its last attempt; one sent without an answer (a timeout) has an
# error and no status.
# v is the row's id, lib.outbox.delivery.delivery_row() in its order, then the
# lease token; the attempts' INSERT takes attempt_row() in its order likewise.
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


class IntegrationWebhookDispatcher(models.AbstractModel):
    """The dispatcher's records: what a batch of sends came to, stored on
    the rows still leased to the dispatcher, and the endpoints' health."""

    _inherit = "integration.webhook.dispatcher"

    @api.model
    def _record(self, claimed, results, settings=None):
        """Stores the attempts, the new state of each claimed delivery, the
        endpoints' health, circuit and pace, in one transaction (left for
        the caller to commit) tried again when it collides with another
        dispatcher. ``settings`` are the endpoints' settings of the claim;
        those missing are read."""
        now, settings = delivery.utcnow(), dict(settings or {})
        endpoints = self.env["integration.webhook.endpoint"].sudo()
        updates, attempts, health = [], [], defaultdict(endpoint.Health)
        tally = defaultdict(dict)
        for row, result in zip(claimed, results, strict=True):
            endpoint_id = row["endpoint_id"]
            if endpoint_id not in settings:
                settings[endpoint_id] = endpoints.browse(endpoint_id)._outbox_settings()
            step = delivery.transition(
                row["attempt_count"] or 0,
                result,
                settings[endpoint_id].schedule,
                now,
            )
            updates.append(
                (row["id"], *delivery.delivery_row(step).values(), row["lease_token"])
            )
            if step.attempted:
                attempt = delivery.attempt_row(result, step)
                attempts.append((row["id"], endpoint_id, *attempt.values()))
                health[endpoint_id].add(step, attempt["started_at"])
            self._engine_tally(tally, endpoint_id, result)

        def store():
            self._store_outcomes(now, updates, attempts)
            disabled = self._update_health(health, now)
            return disabled, self._update_engine(tally, now)

        stored = self._transact(store, tries=RECORD_TRIES)
        if stored is not None:
            disabled, closed = stored
            if disabled:
                self._notify_disabled(endpoints.browse(disabled))
            if closed:
                # Their backlog is due now: every dispatcher may help.
                self._wake()
            return
        _logger.warning(
            "Could not record the outcome of %d webhook deliveries; they will be "
            "sent again when their lease expires.",
            len(claimed),
        )

    def _store_outcomes(self, now, updates, attempts):
        cr = self.env.cr
        if attempts:
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
                            now,
                            self.env.uid,
                            now,
                        )
                        for values in attempts
                    ),
                ),
            )
        values = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s::timestamp, %s::int, %s::varchar, %s::timestamp, %s)",
                *update,
            )
            for update in updates
        )
        cr.execute(SQL(_STORE_OUTCOMES, now=now, values=values), log_exceptions=False)
        self.env["integration.webhook.delivery"].invalidate_model()
        self.env["integration.webhook.attempt"].invalidate_model()

    def _update_health(self, health, now):
        """Moves the endpoints' health counters (``{endpoint id: Health}``),
        disabling those :func:`lib.outbox.endpoint.disable_reason` condemns.
        Returns the ids of the endpoints this disabled."""
        cr = self.env.cr
        disabled = []
        for endpoint_id in sorted(health):
            stats = health[endpoint_id]
            if stats.recovered:
                # The condition keeps a busy endpoint's row from being
                # rewritten on every batch.
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
                        at=stats.success,
                        id=endpoint_id,
                        stale=stats.success - SUCCESS_PRECISION,
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
                    stats.failures,
                    stats.first_failure,
                    endpoint_id,
                ),
                log_exceptions=False,
            )
            row = cr.fetchone()
            if not row:
                continue  # deleted meanwhile
            since = row[0]
            why = endpoint.disable_reason(stats.gone, since, now)
            if why is None:
                continue
            if why == endpoint.GONE:
                reason = self.env._("the receiver answered 410 Gone")
            else:
                reason = self.env._(
                    "no successful delivery since %(since)s",
                    since=since.replace(microsecond=0),
                )
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

    def _notify_disabled(self, endpoints):
        """Tells the integration managers, in the chatter of ``endpoints``,
        that the dispatcher disabled them."""
        managers = self.env.ref("integration_gateway.group_integration_manager").sudo()
        partners = managers.all_user_ids.filtered(lambda u: u.active).partner_id
        for record in endpoints.sudo():
            record.message_post(
                body=Markup("<p>%s</p>")
                % self.env._(
                    "Webhook endpoint %(name)s was disabled: %(reason)s. Its new "
                    "deliveries wait until it is enabled again.",
                    name=record.name,
                    reason=record.disabled_reason,
                ),
                partner_ids=partners.ids,
                subtype_xmlid="mail.mt_comment",
            )
