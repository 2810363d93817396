import logging

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..lib import api_policy, networks, ratelimit
from ..lib.defaults import DEFAULT_POLICY_PARAM
from .constraints import check_parsed, translated

_logger = logging.getLogger(__name__)

# (database, value) of the unreadable default policy settings already
# logged: the setting is read on every call, the error is logged once.
_unreadable_defaults_logged = set()


class IntegrationApiPolicy(models.Model):
    """What the API keys under it may do: which models and methods they may
    call, whether only to read, from which networks, for how long, and
    whether through the legacy XML-RPC / JSON-RPC endpoints.

    Policies are compiled into immutable :class:`lib.api_policy.Policy`
    objects cached per worker under their ``revision``, which every change
    of the policy or of its rules increments in the database: a request
    reads the revision with its key, so a tightened policy holds on every
    worker from the next request on, even on a worker that compiled the
    old one a moment before. Changes also clear the cache through Odoo's
    cache signalling so that old compilations do not linger.
    """

    _name = "integration.api.policy"
    _description = "API Key Policy"
    _order = "name, id"

    name = fields.Char(required=True)
    rule_ids = fields.One2many(
        "integration.api.policy.rule", "policy_id", string="Rules", copy=True
    )
    read_only = fields.Boolean(
        string="Read-only",
        help="Only methods Odoo marks as read-only (search, read, ...) may be "
        "called, on top of what the rules allow.",
    )
    allowed_networks = fields.Text(
        help="Networks calls may come from, as CIDR (10.0.0.0/8) or single "
        "addresses, separated by commas, spaces or new lines. Empty: any.",
    )
    rate_limit = fields.Char(
        help="How many calls each key may make, e.g. '100/minute; 5000/hour' "
        "(units: second, minute, hour, day; '10/15 minutes' works too). Each "
        "limit holds over any window of its period. Empty: no limit.",
    )
    max_key_lifetime_days = fields.Integer(
        string="Maximum Key Lifetime (days)",
        help="Keys under this policy stop working this many days after they "
        "were created, whatever their own expiry. 0: unlimited. Applies to "
        "administrators too.",
    )
    allow_legacy_rpc = fields.Boolean(
        string="Allow XML-RPC / JSON-RPC",
        help="Keys under this policy may also call the deprecated /xmlrpc and "
        "/jsonrpc endpoints (the rules apply there too).",
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Allowed Companies",
        help="Calls of keys under this policy run in these companies only (of "
        "those their user has): a call naming another one in its context's "
        "allowed_company_ids is refused. Empty: the user's companies.",
    )
    key_ids = fields.One2many(
        "res.users.apikeys", "integration_policy_id", string="API Keys"
    )
    key_count = fields.Integer(compute="_compute_key_count", string="Keys")
    revision = fields.Integer(
        default=1,
        readonly=True,
        copy=False,
        help="Incremented by every change of the policy or its rules.",
    )
    is_default = fields.Boolean(
        compute="_compute_is_default",
        help="Keys without a policy get this one.",
    )

    _max_key_lifetime_days_positive = models.Constraint(
        "CHECK (max_key_lifetime_days >= 0)",
        "The maximum key lifetime cannot be negative.",
    )

    def _compute_key_count(self):
        counts = dict(
            self.env["res.users.apikeys"]
            .sudo()
            ._read_group(
                [("integration_policy_id", "in", self.ids)],
                ["integration_policy_id"],
                ["__count"],
            )
        )
        for policy in self:
            policy.key_count = counts.get(policy, 0)

    def _compute_is_default(self):
        default_id = self._integration_default_policy_id()
        for policy in self:
            policy.is_default = bool(policy.id) and policy.id == default_id

    @api.constrains("allowed_networks")
    def _check_allowed_networks(self):
        check_parsed(
            self,
            "allowed_networks",
            networks.parse_networks,
            self.env._("Policy %(name)s: %(error)s"),
        )

    @api.constrains("rate_limit")
    def _check_rate_limit(self):
        check_parsed(
            self,
            "rate_limit",
            ratelimit.parse_limits,
            self.env._("Policy %(name)s: %(error)s"),
        )

    @api.model_create_multi
    def create(self, vals_list):
        policies = super().create(vals_list)
        self.env.registry.clear_cache()
        return policies

    def write(self, vals):
        result = super().write(vals)
        self._integration_touch()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_in_use(self):
        if (
            keys := self.env["res.users.apikeys"]
            .sudo()
            .search_count([("integration_policy_id", "in", self.ids)])
        ):
            raise UserError(
                self.env._(
                    "%(count)s API key(s) use this policy: give them another "
                    "policy or revoke them before deleting it.",
                    count=keys,
                )
            )
        if self._integration_default_policy_id() in self.ids:
            raise UserError(
                self.env._(
                    "This policy is the default policy of API keys: name "
                    "another default in Settings before deleting it."
                )
            )

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def action_issue_key(self):
        """Opens the wizard issuing a key under this policy (for system
        administrators, who alone issue keys for others)."""
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only administrators can issue keys for other users.")
            )
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_gateway.action_integration_api_key_issue"
        )
        action["context"] = {"default_policy_id": self.id}
        return action

    @api.model
    def _integration_default_policy_id(self):
        """The id of the policy of keys that have none, or None; the one
        reading of the setting (Settings, key checks, deletion). A value
        that cannot be read gives ``api_policy.UNREADABLE_POLICY_ID``,
        whose policy refuses everything, and is logged."""
        value = self.env["ir.config_parameter"].sudo().get_param(DEFAULT_POLICY_PARAM)
        policy_id = api_policy.parse_policy_id(value)
        logged = (self.env.cr.dbname, value)
        if (
            policy_id == api_policy.UNREADABLE_POLICY_ID
            and logged not in _unreadable_defaults_logged
        ):
            _unreadable_defaults_logged.add(logged)
            _logger.error(
                "%s is %r, not a policy id: keys without a policy are refused "
                "until a default policy is chosen in Settings",
                DEFAULT_POLICY_PARAM,
                value,
            )
        return policy_id

    def _integration_touch(self):
        """Marks the policies as changed: a new revision, so that no worker
        applies a compilation of the old one."""
        if self.ids:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET revision = revision + 1 WHERE id IN %s",
                    SQL.identifier(self._table),
                    tuple(self.ids),
                )
            )
            self.invalidate_recordset(["revision"])
        self.env.registry.clear_cache()

    @api.model
    @tools.ormcache("policy_id", "revision")
    def _integration_compiled(self, policy_id, revision):
        """The policy ``policy_id`` at ``revision`` as an immutable
        :class:`lib.api_policy.Policy`; a policy that no longer exists
        compiles to one that refuses everything (fail closed)."""
        policy = self.sudo().browse(policy_id).exists()
        if not policy:
            name = f"#{policy_id}"
            if policy_id == api_policy.UNREADABLE_POLICY_ID:
                name = "default (its setting cannot be read)"
            return api_policy.Policy(id=policy_id, name=name)
        return api_policy.Policy(
            id=policy.id,
            name=policy.name,
            rules=tuple(rule._integration_compiled() for rule in policy.rule_ids),
            read_only=policy.read_only,
            networks=networks.parse_networks(policy.allowed_networks),
            allow_legacy_rpc=policy.allow_legacy_rpc,
            max_key_lifetime_days=policy.max_key_lifetime_days,
            rate_limits=policy._integration_rate_limits(),
            company_ids=frozenset(policy.company_ids.ids),
        )

    def _integration_rate_limits(self):
        """The parsed limits of each key under the policy. Limits are checked
        when saved; one written around the ORM that cannot be read is logged
        and limits nothing (a throttle, unlike the rules, does not decide
        what a key may do)."""
        self.ensure_one()
        try:
            return ratelimit.parse_limits(self.rate_limit)
        except ValueError:
            _logger.error(
                "Policy %r has an unreadable rate limit %r: its keys are not "
                "limited until it is fixed",
                self.name,
                self.rate_limit,
            )
            return ()

    def _integration_check_lifetime(self, expiration_date):
        """Raises ValidationError when a key expiring at ``expiration_date``
        (False: never) may not be issued under this policy."""
        self.ensure_one()
        error = api_policy.lifetime_error(
            expiration_date or None,
            fields.Datetime.now(),
            self.max_key_lifetime_days,
        )
        if error:
            raise ValidationError(
                self.env._(
                    "Policy %(policy)s: %(error)s.",
                    policy=self.name,
                    error=translated(self.env, error),
                )
            )

    @api.model
    def _integration_enforce(self, policy, api_key, model, method, address, **kwargs):
        """Raises AccessError naming the model, method and policy when the
        compiled ``policy`` refuses ``api_key`` calling ``model.method``
        from ``address``; ``kwargs`` go to :func:`lib.api_policy.check`
        (``legacy_rpc``)."""
        try:
            api_policy.check(
                policy,
                model=model,
                method=method,
                readonly_method=self._integration_is_readonly(model, method),
                address=address,
                **kwargs,
            )
        except api_policy.PolicyDenied as denied:
            _logger.info(
                "API key #%s refused (%s): %s", api_key.key_id, denied.reason, denied
            )
            raise self._integration_denial(
                policy, f"{model}.{method}", denied, model=model, method=method
            ) from None

    @api.model
    def _integration_denial(self, policy, what, denied, model=None, method=None):
        """The AccessError telling a client that ``policy`` refuses
        ``what`` (a call or a route), why and what to do; its ``context``
        says so for programs (``policy``: ``name``, ``reason``, ``model``,
        ``method``), as the 429's ``context.rate_limit`` does. In English:
        a partner's program reads it, whatever its user's language."""
        error = AccessError(
            self.with_context(lang="en_US").env._(
                "Policy %(policy)s refuses %(what)s: %(reason)s. %(hint)s",
                policy=repr(policy.name),
                what=what,
                reason=denied.message,
                hint=api_policy.HINTS.get(denied.reason, ""),
            )
        )
        error.context = {
            "policy": {
                "name": policy.name,
                "reason": denied.reason,
                "model": model,
                "method": method,
            }
        }
        return error

    @api.model
    def _integration_write_denial(self, policy, what, model=None, method=None):
        """The AccessError of a call of a read-only key, ``what`` (a call or
        a route), that tried to write."""
        denied = api_policy.PolicyDenied(
            api_policy.REASON_READ_ONLY,
            "the policy is read-only and this call tried to write; nothing was written",
        )
        return self._integration_denial(
            policy, what, denied, model=model, method=method
        )

    @api.model
    def _integration_is_readonly(self, model, method):
        """Whether Odoo marks ``model.method`` ``@api.readonly`` (what JSON/2
        runs on a read-only cursor)."""
        try:
            model_class = self.env.registry[model]
        except KeyError:
            return False
        for klass in model_class.mro():
            func = getattr(klass, method, None)
            if func is not None and hasattr(func, "_readonly"):
                return bool(func._readonly)
        return False
