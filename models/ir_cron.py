from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import defaults
from ..plumbing import after_response, notify_cron_workers

DISPATCHER_XMLID = "ir_cron_webhook_dispatcher_%d"
INCOMING_XMLID = "ir_cron_incoming_webhook_queue_%d"
MAX_DISPATCHERS = 32


class IrCron(models.Model):
    """The webhook dispatcher crons: how many run, and waking them (and the
    incoming queue's crons)."""

    _inherit = "ir.cron"

    @api.model
    def _integration_wake_dispatchers(self, one=None, for_endpoints=None):
        """Triggers the active dispatcher crons (after commit); only one of
        them, picked by the integer ``one``, when one is enough; with
        ``for_endpoints`` (ids), only if one of those endpoints is active
        and not disabled."""
        only_if = None
        if for_endpoints is not None:
            only_if = SQL(
                "EXISTS (SELECT 1 FROM integration_webhook_endpoint"
                " WHERE id = ANY(%s) AND active AND disabled_at IS NULL)",
                list(for_endpoints),
            )
        self._integration_wake(DISPATCHER_XMLID, one, only_if=only_if)

    @api.model
    def _integration_wake_incoming(self, one=None):
        """Triggers the incoming queue's crons (after commit), as
        ``_integration_wake_dispatchers`` does the dispatchers."""
        self._integration_wake(INCOMING_XMLID, one)

    @api.model
    def _integration_wake(self, xmlid_pattern, one=None, only_if=None):
        """Triggers the active crons of this addon whose XML id matches
        ``xmlid_pattern`` (``%d`` standing for their number), after commit;
        only one of them, picked by the integer ``one``, when one is enough.

        What ``ir.cron._trigger()`` does, at a fraction of its cost on the
        path of every request that queues a webhook: the crons are found
        and triggered in one statement, and the cron workers are notified on
        a connection this process keeps, where Odoo opens (and closes) one
        each time. ``only_if``: an SQL condition without which nothing is
        triggered, checked in the same statement."""
        # One statement finds the crons and writes their triggers (the ORM's
        # create would add a query and its bookkeeping to every request).
        self.env.cr.execute(
            self._integration_trigger_sql(xmlid_pattern, one, only_if=only_if)
        )
        if self.env.cr.rowcount:
            self._integration_notify_at_commit()

    @api.model
    def _integration_trigger_sql(
        self, xmlid_pattern, one=None, *, unless_due=False, only_if=None
    ):
        """The statement that writes the triggers ``_integration_wake``
        writes, returning their crons' ids; ``one`` is an integer or an SQL
        expression (a statement can trigger the cron of a row it inserts).
        With ``unless_due``, a cron that already has a due trigger, not yet
        consumed, gets no other: it runs anyway, and its workers were told."""
        if one is None:
            pick = SQL("TRUE")
        else:
            # No cron when an expression ``one`` is NULL (no row inserted).
            one = one if isinstance(one, SQL) else SQL("%s::integer", one)
            pick = SQL("n = (%s) %% total", one)
        return SQL(
            """
            INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid,
                   create_date, write_uid, write_date)
            SELECT id, %(now)s, %(uid)s, %(created)s, %(uid)s, %(created)s
              FROM (SELECT c.id, row_number() OVER (ORDER BY c.id) - 1 AS n,
                           count(*) OVER () AS total
                      FROM ir_cron c
                      JOIN ir_model_data d
                        ON d.res_id = c.id AND d.model = 'ir.cron'
                     WHERE d.module = 'integration_gateway'
                       AND d.name LIKE %(xmlids)s
                       AND c.active) crons
             WHERE %(pick)s %(unless_due)s %(only_if)s
            RETURNING cron_id
            """,
            now=fields.Datetime.now(),
            uid=self.env.uid,
            # The transaction's time, as the ORM writes it, without asking
            # the database for it first.
            created=SQL("(now() AT TIME ZONE 'UTC')"),
            xmlids=xmlid_pattern.replace("%d", "%"),
            pick=pick,
            unless_due=SQL(
                " AND NOT EXISTS (SELECT 1 FROM ir_cron_trigger t"
                " WHERE t.cron_id = crons.id AND t.call_at <= %s)",
                fields.Datetime.now(),
            )
            if unless_due
            else SQL(),
            only_if=SQL(" AND %s", only_if) if only_if is not None else SQL(),
        )

    @api.model
    def _integration_incoming_trigger_sql(self, one):
        """``_integration_trigger_sql`` for the incoming queue's crons,
        unless one is due already."""
        return self._integration_trigger_sql(INCOMING_XMLID, one, unless_due=True)

    @api.model
    def _integration_notify_at_commit(self):
        """Tells the cron workers, once this transaction commits, that a
        trigger of this database is due."""
        dbname = self.env.cr.dbname
        # In a request, once its answer is sent: the client does not wait
        # for the cron workers' wake-up.
        self.env.cr.postcommit.add(
            lambda: after_response(lambda: notify_cron_workers(dbname))
        )

    @api.model
    def _integration_dispatcher_crons(self):
        """The dispatcher crons, active or not, in their order."""
        return self.sudo().union(*self._integration_dispatchers_by_number().values())

    @api.model
    def _integration_dispatchers_by_number(self):
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
        crons = self.sudo().with_context(active_test=False)
        by_number = {}
        for row in data:
            number = row.name.rsplit("_", 1)[1]
            if number.isdigit() and (cron := crons.browse(row.res_id).exists()):
                by_number[int(number)] = cron
        return dict(sorted(by_number.items()))

    @api.model
    def _integration_sync_dispatchers(self, count=None):
        """Makes exactly ``count`` dispatcher crons active (default: the
        ``integration_gateway.dispatcher_count`` setting), creating missing
        ones like the first and archiving the extra ones."""
        if count is None:
            count = int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param(defaults.DISPATCHER_COUNT_PARAM, defaults.DISPATCHER_COUNT)
            )
        if not 1 <= count <= MAX_DISPATCHERS:
            raise UserError(
                self.env._(
                    "The number of webhook dispatchers must be between 1 and %(max)s.",
                    max=MAX_DISPATCHERS,
                )
            )
        crons = self._integration_dispatchers_by_number()
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
