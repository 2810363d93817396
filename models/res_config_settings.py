from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib import api_policy, defaults, ratelimit
from ..lib.defaults import DEFAULT_POLICY_PARAM
from .constraints import translated

REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_dispatcher_count = fields.Integer(
        string="Webhook Dispatchers",
        config_parameter=defaults.DISPATCHER_COUNT_PARAM,
        default=defaults.DISPATCHER_COUNT,
        help="How many dispatcher jobs may send queued webhooks at the same time. "
        "Each runs in one cron thread at a time; more cron threads or servers add "
        "capacity up to this number.",
    )
    integration_retention_days = fields.Integer(
        string="Keep Delivered Webhooks (days)",
        config_parameter=defaults.RETENTION_DAYS_PARAM,
        default=defaults.RETENTION_DAYS,
        help="Delivered webhooks, their attempts and recorded rejections older than "
        "this are removed by the daily clean-up; 0 keeps them all.",
    )
    # Not a config_parameter field: the setting is read by the policies' own
    # parser, so that Settings shows the default the key checks apply.
    integration_default_policy_id = fields.Many2one(
        "integration.api.policy",
        string="Default API Key Policy",
        help="The policy of API keys that have none. Empty: such keys keep "
        "Odoo's own behaviour (everything their user may do).",
    )
    integration_default_policy_unreadable = fields.Boolean(
        string="Default Policy Setting Unreadable",
        help="The system parameter integration_gateway.default_policy_id "
        "holds something other than a policy id: keys without a policy are "
        "refused until a default policy is chosen here.",
    )

    integration_redis_url = fields.Char(
        string="Rate Limit Redis URL",
        config_parameter="integration_gateway.redis_url",
        help="Keep rate-limit counters in this Redis (redis://host:6379/0, "
        "rediss:// for TLS, unix:///path) instead of PostgreSQL, for request "
        "rates PostgreSQL should not carry. Empty: PostgreSQL.",
    )
    integration_redis_failure_mode = fields.Selection(
        [
            ("closed", "Refuse calls (503)"),
            ("open", "Let calls through without a limit"),
        ],
        string="When Redis Is Unreachable",
        config_parameter="integration_gateway.redis_failure_mode",
        default="closed",
        help="What rate-limited calls get while the Redis above cannot be "
        "reached. Either way it is logged.",
    )
    integration_auth_failure_limit = fields.Char(
        string="Failed API Key Authentications",
        config_parameter="integration_gateway.auth_failure_limit",
        help="How many failed API key authentications (Bearer, and legacy "
        "RPC with a password shaped like a key) one client address may make "
        "(e.g. 10/minute; 100/hour). Past it, its calls are refused, even "
        "with a correct key. Empty: no limit.",
    )

    @api.constrains("integration_auth_failure_limit")
    def _check_integration_auth_failure_limit(self):
        for settings in self:
            try:
                ratelimit.parse_limits(settings.integration_auth_failure_limit)
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "Failed API key authentications: %(error)s",
                        error=translated(self.env, exc),
                    )
                ) from exc

    @api.constrains("integration_redis_url")
    def _check_integration_redis_url(self):
        for settings in self:
            url = (settings.integration_redis_url or "").strip()
            if url and not url.startswith(REDIS_URL_SCHEMES):
                raise ValidationError(
                    self.env._(
                        "The rate limit Redis URL must start with redis://, "
                        "rediss:// or unix://, not %(url)s",
                        url=url,
                    )
                )

    @api.model
    def get_values(self):
        values = super().get_values()
        Policy = self.env["integration.api.policy"]
        default_id = Policy._integration_default_policy_id()
        values["integration_default_policy_id"] = (
            Policy.browse(default_id).exists().id if default_id else False
        )
        values["integration_default_policy_unreadable"] = (
            default_id == api_policy.UNREADABLE_POLICY_ID
        )
        return values

    def set_values(self):
        # Public, and it writes as superuser (parameters, crons): checked as
        # the caller, even on no record at all.
        self.check_access("write")
        result = super().set_values()
        # An unreadable setting shows as empty: saving the form without
        # choosing a default leaves it (and its refusals) as they are.
        Policy = self.env["integration.api.policy"]
        chosen = self.integration_default_policy_id.id or None
        current = Policy._integration_default_policy_id()
        if chosen != (None if current == api_policy.UNREADABLE_POLICY_ID else current):
            self.env["ir.config_parameter"].sudo().set_param(
                DEFAULT_POLICY_PARAM, chosen or False
            )
        # The dispatcher count is a number of crons: make it so.
        self.env["integration.webhook.dispatcher"]._sync_crons(
            self.integration_dispatcher_count
        )
        return result
