"""API key policies: which calls a scoped key may make.

A policy is a list of rules, each a pair of comma-separated ``fnmatch``
pattern lists (model, method) with an effect. Patterns are matched
case-sensitively: ``sale.*`` matches ``sale.order.line``, ``Sale.*`` does
not. A deny rule that matches wins over any allow rule; a call no rule
matches is denied. On top of the rules, a read-only policy admits only the
methods Odoo marks ``@api.readonly``, a list of networks restricts where
calls may come from, and legacy RPC (XML-RPC, JSON-RPC) is refused unless
the policy allows it.

A call is checked twice: its model and method against the rules
(:func:`check`), then every model its arguments reach, for what it would do
to each (:func:`check_reach`, with the reach told by :mod:`lib.api_reach`).

Nothing here imports Odoo: the models compile their records into
:class:`Policy` and ask :func:`check` about a call.
"""

import datetime
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from . import networks
from .messages import Refusal, _lt

ALLOW = "allow"
DENY = "deny"

# What a pattern may hold: model and method names plus the fnmatch wildcards.
# Anything else (spaces inside a pattern, quotes, ...) is a typing mistake
# that would silently never match.
PATTERN_RE = re.compile(r"^[A-Za-z0-9_.*?\[\]!-]+$")


class PolicyDenied(Exception):
    """A call the policy refuses; ``reason`` is one of the REASON_* codes and
    ``message`` says why in a few words."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


# The reasons, machine-readable in the 403's ``context.policy.reason``.
REASON_NETWORK = "network"
REASON_LEGACY_RPC = "legacy_rpc"
REASON_READ_ONLY = "read_only"
REASON_NO_RULE = "no_rule"
REASON_DENY_RULE = "deny_rule"
REASON_ROUTE = "route"
REASON_LIFETIME = "lifetime"
REASON_REACH = "reach"
REASON_COMPANY = "company"
# A call no rule allows, for callers that do not tell the rules apart.
REASON_RULE = REASON_NO_RULE

# What a refused client can do about each reason, ending its message.
HINTS = {
    REASON_NETWORK: "Call from a network the policy allows, or have the policy "
    "allow this address.",
    REASON_LEGACY_RPC: "Use the JSON/2 API (POST /json/2/<model>/<method>).",
    REASON_READ_ONLY: "Use a key whose policy may write.",
    REASON_NO_RULE: "Have a rule of the policy allow it, or use a key whose "
    "policy does.",
    REASON_DENY_RULE: "The policy denies it on purpose: use a key whose policy "
    "allows it.",
    REASON_ROUTE: "Use the JSON/2 API (POST /json/2/<model>/<method>).",
    REASON_LIFETIME: "Issue a new key.",
    REASON_REACH: "Have a rule of the policy allow that operation on the model "
    "the call reaches, or leave it out of the call.",
    REASON_COMPANY: "Name only companies the policy allows in "
    "context.allowed_company_ids.",
}


# What a call does to a model it reaches through its arguments (see
# lib.api_reach), and the method rules that allow it there: a model may be
# read through a path when the rules allow its ``read`` or ``search_read``
# and deny neither, created, written or deleted through one when they allow
# its ``create``, ``write`` or ``unlink``.
READ = "read"
CREATE = "create"
WRITE = "write"
UNLINK = "unlink"
OPERATION_METHODS = {
    READ: ("read", "search_read"),
    CREATE: ("create",),
    WRITE: ("write",),
    UNLINK: ("unlink",),
}

# Never changed by a key, through any path, whatever the rules: a key could
# otherwise lift its own policy.
API_KEYS_MODEL = "res.users.apikeys"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a policy: model and method pattern tuples and an effect."""

    model_patterns: tuple
    method_patterns: tuple
    effect: str

    def matches(self, model, method):
        return any(fnmatchcase(model, p) for p in self.model_patterns) and any(
            fnmatchcase(method, p) for p in self.method_patterns
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy compiled for checking calls; immutable so that it can be
    shared between the threads of a worker."""

    id: int
    name: str
    rules: tuple = ()
    read_only: bool = False
    networks: tuple = ()
    allow_legacy_rpc: bool = False
    max_key_lifetime_days: int = 0
    rate_limits: tuple = ()  # each key's limits, as lib.ratelimit.parse_limits
    company_ids: frozenset = frozenset()  # empty: the user's companies


@dataclass(frozen=True, slots=True)
class ApiKey:
    """The API key that authenticated a request.

    ``policy_id`` is the policy that applies to the key (its own, else the
    default policy of the database), or None when core behaviour applies;
    ``policy_revision`` the revision of that policy read with the key (it
    changes with every change of the policy or its rules, so it can key
    caches of anything derived from the policy). ``expires_at`` is the naive
    UTC moment the key stops working, taking the policy's maximum key
    lifetime into account (then ``lifetime_capped``), or None for a key
    that does not expire. ``name`` is the key's description, read with it
    (what the deliveries its calls cause are traced to).
    """

    key_id: int
    user_id: int
    policy_id: int | None
    policy_revision: int | None = None
    expires_at: datetime.datetime | None = None
    # expires_at is the policy's maximum lifetime, before the key's own expiry
    lifetime_capped: bool = False
    name: str | None = None

    def expired(self, now):
        return self.expires_at is not None and self.expires_at < now


def parse_patterns(text):
    """Splits a comma-separated pattern list into a tuple of patterns.

    Raises ValueError naming the first malformed pattern, or when the list
    is empty.
    """
    patterns = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    if not patterns:
        raise Refusal(_lt("a pattern list needs at least one pattern"))
    for pattern in patterns:
        if not PATTERN_RE.match(pattern):
            raise Refusal(
                _lt(
                    "%(pattern)s is not a model or method name pattern "
                    "(letters, digits, '_', '.', '-' and the wildcards * ? [])"
                ),
                pattern=repr(pattern),
            )
    return patterns


def make_rule(model_pattern, method_pattern, effect):
    """Builds a :class:`Rule` from the text of its patterns."""
    if effect not in (ALLOW, DENY):
        raise Refusal(_lt("%(effect)s is not 'allow' or 'deny'"), effect=repr(effect))
    return Rule(parse_patterns(model_pattern), parse_patterns(method_pattern), effect)


# Methods a read-only policy admits although Odoo does not mark them
# ``@api.readonly``: they read metadata only (the models enforce that the
# calls of a read-only key write nothing in any case).
READ_ONLY_METHODS = frozenset({"fields_get"})


def rule_effect(rules, model, method):
    """ALLOW when a rule allows ``model.method`` and none denies it, DENY
    when a rule denies it, None when no rule matches."""
    effect = None
    for rule in rules:
        if rule.matches(model, method):
            if rule.effect == DENY:
                return DENY
            effect = ALLOW
    return effect


def check(policy, *, model, method, readonly_method, address, legacy_rpc=False):
    """Decides whether ``policy`` lets a key call ``model.method``.

    ``readonly_method`` says whether Odoo marks the method ``@api.readonly``
    (a read-only policy admits those and READ_ONLY_METHODS);
    ``address`` is the client's address; ``legacy_rpc`` is True for calls
    through XML-RPC or JSON-RPC. Returns None when the call is allowed and
    raises :class:`PolicyDenied` otherwise, the checks running from the most
    general (where the call comes from) to the most specific (what it does).
    """
    check_network(policy, address)
    if legacy_rpc:
        check_legacy_rpc(policy)
    effect = rule_effect(policy.rules, model, method)
    if effect != ALLOW:
        if effect == DENY:
            raise PolicyDenied(REASON_DENY_RULE, "a rule denies it")
        raise PolicyDenied(REASON_NO_RULE, "no rule allows it")
    if policy.read_only and not (readonly_method or method in READ_ONLY_METHODS):
        raise PolicyDenied(
            REASON_READ_ONLY, "the policy is read-only and this method may write"
        )


def operation_denial(policy, model, operation):
    """Why ``policy`` refuses ``operation`` on ``model`` reached by a call,
    or None when it allows it. A read-only policy refuses every create,
    write and unlink; nothing but a read of the API keys is ever allowed.

    >>> pol = Policy(1, "p", rules=(make_rule("res.partner", "read", ALLOW),))
    >>> operation_denial(pol, "res.partner", READ) is None
    True
    >>> operation_denial(pol, "res.users", WRITE)
    'the call would write res.users, and no rule allows res.users.write'
    """
    if model == API_KEYS_MODEL and operation != READ:
        return f"API keys may never {operation} {model}"
    if operation != READ and policy.read_only:
        return f"the policy is read-only and the call would {operation} {model}"
    effects = [
        rule_effect(policy.rules, model, method)
        for method in OPERATION_METHODS[operation]
    ]
    if DENY in effects:
        return f"the call would {operation} {model}, which a rule denies"
    if ALLOW not in effects:
        methods = " or ".join(f"{model}.{m}" for m in OPERATION_METHODS[operation])
        return f"the call would {operation} {model}, and no rule allows {methods}"
    return None


def check_reach(policy, reached):
    """Raises :class:`PolicyDenied` for the first (in a stable order) of
    the ``reached`` ``(model, operation)`` pairs that ``policy`` refuses."""
    for model, operation in sorted(reached):
        if message := operation_denial(policy, model, operation):
            raise PolicyDenied(REASON_REACH, message)


def check_network(policy, address):
    """Raises :class:`PolicyDenied` when ``address`` is outside the policy's
    networks."""
    if policy.networks and not networks.address_in(address, policy.networks):
        raise PolicyDenied(
            REASON_NETWORK, f"{address} is outside the networks the policy allows"
        )


def check_legacy_rpc(policy):
    """Raises :class:`PolicyDenied` unless the policy allows legacy RPC."""
    if not policy.allow_legacy_rpc:
        raise PolicyDenied(
            REASON_LEGACY_RPC,
            "the policy does not allow XML-RPC or JSON-RPC, use the JSON/2 API",
        )


def route_call(path):
    """The (model, method) a Bearer route other than JSON/2 amounts to, so
    that the rules can be applied to it, or None when the route cannot be
    expressed as a model call (a key with a policy is then refused).

    ``/doc-bearer/index.json`` lists the models (``ir.model.search_read``);
    ``/doc-bearer/<model>.json`` describes one (``<model>.fields_get``);
    ``/integration/asyncapi.json`` lists the event types
    (``integration.webhook.event.type.search_read``);
    ``/integration/metrics`` reads the Prometheus metrics (the pseudo-model
    ``integration.metrics``, method ``read``).

    >>> route_call("/integration/metrics")
    ('integration.metrics', 'read')
    """
    if path == "/integration/asyncapi.json":
        return ("integration.webhook.event.type", "search_read")
    if path == "/integration/metrics":
        return ("integration.metrics", "read")
    prefix, suffix = "/doc-bearer/", ".json"
    if path.startswith(prefix) and path.endswith(suffix):
        name = path[len(prefix) : -len(suffix)]
        if name == "index":
            return ("ir.model", "search_read")
        if name and "/" not in name:
            return (name, "fields_get")
    return None


# The policy id standing for a default policy setting that cannot be read:
# no policy has it, so it compiles to a policy that refuses everything.
UNREADABLE_POLICY_ID = 0
_POLICY_ID_RE = re.compile(r"[0-9]+")


def parse_policy_id(value):
    """The policy id a setting names: None when it names none (unset or
    blank), the id when it is a number (whitespace around it ignored),
    UNREADABLE_POLICY_ID for anything else, so that a setting no one can
    read restricts keys rather than freeing them.

    >>> parse_policy_id("13\\n"), parse_policy_id(" 7 "), parse_policy_id(False)
    (13, 7, None)
    >>> parse_policy_id("  "), parse_policy_id("0")
    (None, None)
    >>> parse_policy_id("13x"), parse_policy_id("+13"), parse_policy_id("1_3")
    (0, 0, 0)
    """
    text = "" if value is None or value is False else str(value).strip()
    if not text:
        return None
    if not _POLICY_ID_RE.fullmatch(text):
        return UNREADABLE_POLICY_ID
    return int(text) or None


def key_expiry(expiration_date, create_date, max_lifetime_days):
    """When a key stops working: its own expiration date, brought forward
    to ``create_date + max_lifetime_days`` when the policy sets a maximum
    lifetime (0 = unlimited). None for a key that never expires."""
    if max_lifetime_days and create_date:
        cap = create_date + datetime.timedelta(days=max_lifetime_days)
        if expiration_date is None or cap < expiration_date:
            return cap
    return expiration_date


def lifetime_error(expiration_date, now, max_lifetime_days):
    """Why a key expiring at ``expiration_date`` (None: never) may not be
    issued under a maximum lifetime of ``max_lifetime_days`` (a
    :class:`Refusal`, to raise or to show), or None."""
    if not max_lifetime_days:
        return None
    if expiration_date is None:
        return Refusal(
            _lt("keys may live at most %(days)s days: set an expiry"),
            days=max_lifetime_days,
        )
    if expiration_date > now + datetime.timedelta(days=max_lifetime_days):
        return Refusal(
            _lt("keys may live at most %(days)s days"), days=max_lifetime_days
        )
    return None


def allowed_companies(policy, user_company_ids, current_company_id, requested=None):
    """The companies (ids, the current one first) a call of a key under
    ``policy`` runs in: those the call names in its context's
    ``allowed_company_ids`` (``requested``), which must all be the
    policy's; without them, those of the key's user that the policy allows.
    None when the policy does not restrict companies (Odoo decides).
    Raises :class:`PolicyDenied` when the call names another company or
    the user is in none of the policy's.

    >>> policy = Policy(id=1, name="EU", company_ids=frozenset({1, 3}))
    >>> allowed_companies(policy, [1, 2, 3], 2), allowed_companies(policy, [1, 2, 3], 3)
    ([1, 3], [3, 1])
    >>> allowed_companies(policy, [1, 2, 3], 1, requested=[3])
    [3]
    >>> def refusal(*args, **kwargs):
    ...     try:
    ...         allowed_companies(*args, **kwargs)
    ...     except PolicyDenied as denied:
    ...         return denied.reason, denied.message
    >>> refusal(policy, [1, 2, 3], 1, requested=[3, 2])
    ('company', "company 2 is not one of the policy's")
    >>> refusal(policy, [2], 2)
    ('company', "the key's user is in none of the policy's companies")
    >>> allowed_companies(Policy(id=2, name="any"), [1, 2], 1, requested=[2]) is None
    True
    """
    if not policy.company_ids:
        return None
    if requested:
        for company_id in requested:
            if company_id not in policy.company_ids:
                raise PolicyDenied(
                    REASON_COMPANY, f"company {company_id} is not one of the policy's"
                )
        return list(requested)
    allowed = [c for c in user_company_ids if c in policy.company_ids]
    if not allowed:
        raise PolicyDenied(
            REASON_COMPANY, "the key's user is in none of the policy's companies"
        )
    if current_company_id in allowed:
        allowed.remove(current_company_id)
        allowed.insert(0, current_company_id)
    return allowed
