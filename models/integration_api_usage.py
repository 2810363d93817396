import logging

from odoo import api, fields, models

from ..lib.api_usage import USAGE_TALLY_PREFIX, parse_usage_tally

_logger = logging.getLogger(__name__)


class IntegrationApiUsage(models.Model):
    """The calls of one API key on one day (UTC): how many it made, how
    many were refused for its rate limit (429) and how many its policy
    denied (403). Collected every few minutes from the rate limiter's
    counters, so that graphs lag behind the calls by at most that much."""

    _name = "integration.api.usage"
    _description = "API Key Usage"
    _order = "date desc, id desc"
    _rec_name = "key_name"

    date = fields.Date(required=True, readonly=True, index=True)
    key_id = fields.Many2one(
        "res.users.apikeys",
        string="API Key",
        readonly=True,
        index=True,
        help="Empty once the key has been revoked.",
    )
    key_name = fields.Char(string="Key Description", readonly=True)
    user_id = fields.Many2one(
        "res.users", readonly=True, index=True, ondelete="cascade"
    )
    policy_id = fields.Many2one(
        "integration.api.policy",
        readonly=True,
        ondelete="set null",
        help="The key's own policy when the usage was collected.",
    )
    calls = fields.Integer(readonly=True, help="Calls authenticated with the key.")
    rate_limited = fields.Integer(readonly=True, help="Calls refused with 429.")
    denied = fields.Integer(readonly=True, help="Calls the key's policy refused (403).")

    _key_day_unique = models.Constraint(
        "UNIQUE (key_id, date)", "A key has one usage row per day."
    )

    def init(self):
        # res.users.apikeys has no ORM-made table, so the ORM adds no foreign
        # key towards it: revoking a key keeps its usage, without the key.
        self.pool.add_foreign_key(
            self._table,
            "key_id",
            "res_users_apikeys",
            "id",
            "set null",
            self,
            "integration_gateway",
        )

    @api.model
    def _cron_collect(self):
        """Adds the calls counted since the last collection to the daily rows."""
        limiter = self.env["integration.rate.limiter"]
        tallies = limiter._drain(USAGE_TALLY_PREFIX)
        try:
            self._integration_add(tallies)
            self.env.flush_all()
        except Exception:
            # Counted again in the limiter's storage: the next collection
            # adds them, nothing is lost with this transaction.
            limiter._restore(tallies)
            raise

    @api.model
    def _integration_add(self, tallies):
        """Adds ``{tally: {field: count}}`` (fields ``allowed``,
        ``refused``, ``denied``) to the rows of their key and day. Counts of
        keys that no longer exist are dropped."""
        by_key_day = {}
        for name, counts in tallies.items():
            if key_day := parse_usage_tally(name):
                by_key_day[key_day] = counts
        keys = (
            self.env["res.users.apikeys"]
            .sudo()
            .browse({key_id for key_id, _day in by_key_day})
            .exists()
        )
        keys_by_id = {key.id: key for key in keys}
        if dropped := {k for k, _d in by_key_day} - set(keys_by_id):
            _logger.info("Usage of removed API keys %s dropped", sorted(dropped))
        rows = {
            (row.key_id.id, row.date): row
            for row in self.sudo().search(
                [
                    ("key_id", "in", keys.ids),
                    ("date", "in", list({day for _k, day in by_key_day})),
                ]
            )
        }
        new = []
        for (key_id, day), counts in by_key_day.items():
            key = keys_by_id.get(key_id)
            if not key:
                continue
            added = {
                "calls": counts.get("allowed", 0) + counts.get("refused", 0),
                "rate_limited": counts.get("refused", 0),
                "denied": counts.get("denied", 0),
            }
            if row := rows.get((key_id, day)):
                row.write({name: row[name] + value for name, value in added.items()})
            else:
                new.append(
                    dict(
                        added,
                        date=day,
                        key_id=key.id,
                        key_name=key.name,
                        user_id=key.user_id.id,
                        policy_id=key.integration_policy_id.id,
                    )
                )
        self.sudo().create(new)
