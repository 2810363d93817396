import logging
import threading
import time

from werkzeug.exceptions import TooManyRequests

from odoo import api, models

from .. import plumbing
from ..exceptions import RateLimiterUnavailable
from ..lib import ratelimit
from ..plumbing import Connections, own_cursor

_logger = logging.getLogger(__name__)

REDIS_URL_PARAM = "integration_gateway.redis_url"
FAILURE_MODE_PARAM = "integration_gateway.redis_failure_mode"
FAILURE_MODES = ("closed", "open")
# A limiter that waits longer than this on Redis slows down every call it
# guards; past it, Redis counts as unreachable.
REDIS_TIMEOUT = 0.5  # seconds
# While Redis stays unreachable, one warning per process this often, not one
# per call.
UNREACHABLE_LOG_INTERVAL = 60  # seconds
PURGE_BATCH = 10000  # expired windows removed per statement


class _Backend:
    """A storage and what this process knows of its health."""

    def __init__(self, storage, name):
        self.storage = storage
        self.name = name
        self.down_since = None
        self.warned_at = {}  # consequence -> when it was last logged


# One backend per database and Redis URL in each process: Redis clients keep
# their connection pool, PostgreSQL uses Odoo's. No counter is kept here.
_backends = {}
_backends_lock = threading.Lock()


class IntegrationRateLimiter(models.AbstractModel):
    """The addon's rate limiter: sliding-window limits shared by every
    worker and server of the database.

    Call it from any code, with any environment (even without a user)::

        limiter = env["integration.rate.limiter"]
        decision = limiter._hit("webhook:%s:%s" % (validator.id, address),
                                validator.rate_limit)
        if decision and not decision.allowed:
            raise limiter._too_many_requests(decision, message)

    * ``key`` is any text naming what is limited; prefix it with your feature
      (``apikey:``, ``auth-failure:``, ``webhook:``) so that keys never meet.
    * ``limits`` is the text of a limit (``"100/minute; 5000/hour"``) or the
      tuple :func:`lib.ratelimit.parse_limits` returns. Text that cannot be
      parsed raises ValueError: validate it when it is saved.
    * :meth:`_hit` counts the call when every limit allows it (a refused call
      counts nothing) and returns a :class:`lib.ratelimit.Decision`;
      :meth:`_peek` decides without counting. The counters are written and
      committed on a connection of their own, so the caller's transaction,
      read-only or rolled back, changes nothing to them.
    * Both return None when there is nothing to decide (no limit), or when
      Redis is unreachable and ``integration_gateway.redis_failure_mode`` is
      ``open`` (the call goes through; this is logged). In mode ``closed``
      (the default) they raise :class:`RateLimiterUnavailable` (503), unless
      the caller passes ``unavailable`` (the consequence to log): then they
      return None as in mode ``open``.
    * :func:`lib.ratelimit.decision_headers` gives the response headers of a
      decision; :meth:`_too_many_requests` the 429 exception.

    The counters live in PostgreSQL (UNLOGGED tables), or in Redis when the
    system parameter ``integration_gateway.redis_url`` is set.
    """

    _name = "integration.rate.limiter"
    _description = "Integration Rate Limiter"

    def init(self):
        ratelimit.install_postgres(self.env.cr)

    @api.model
    def _hit(self, key, limits, *, cost=1, tally=None, unavailable=None):
        """Counts a call for ``key`` if ``limits`` allow it; see the class.
        ``tally`` names usage counters that get the decision counted
        (``allowed`` or ``refused``) in the same step."""
        return self._decide(
            key, limits, cost=cost, consume=True, tally=tally, unavailable=unavailable
        )

    @api.model
    def _peek(self, key, limits, *, cost=1, unavailable=None):
        """Whether a call for ``key`` would be allowed, counting nothing."""
        return self._decide(
            key, limits, cost=cost, consume=False, unavailable=unavailable
        )

    @api.model
    def _count(self, tally, field, amount=1, *, after_response=False):
        """Adds ``amount`` to the usage counter ``field`` of ``tally``.
        Returns False when the storage could not be reached (logged).
        ``after_response``: counted once the answer to the current request
        is sent (``plumbing.after_response``); returns None."""
        backend, _mode = self._backend()
        if after_response:
            # Only the backend, resolved now, and this environment's
            # database name serve then: the request's cursor is closed.
            plumbing.after_response(
                lambda: self._count_in(backend, tally, field, amount)
            )
            return None
        return self._count_in(backend, tally, field, amount)

    def _count_in(self, backend, tally, field, amount):
        try:
            backend.storage.count(tally, field, amount)
        except _redis_errors() as exc:
            self._unreachable(backend, exc, "usage not counted")
            return False
        self._reachable(backend)
        return True

    @api.model
    def _drain(self, prefix):
        """Takes the tallies whose name starts with ``prefix``: returns
        ``{tally: {field: count}}`` and forgets those counts, in PostgreSQL
        and, when configured, in Redis."""
        dbname = self.env.cr.dbname
        postgres = ratelimit.PostgresStorage(lambda: own_cursor(dbname))
        tallies = postgres.drain(prefix)
        backend, _mode = self._backend()
        if not isinstance(backend.storage, ratelimit.PostgresStorage):
            try:
                taken = backend.storage.drain(prefix)
            except _redis_errors() as exc:
                self._unreachable(backend, exc, "usage not collected")
            else:
                self._reachable(backend)
                for name, counts in taken.items():
                    merged = tallies.setdefault(name, {})
                    for field, value in counts.items():
                        merged[field] = merged.get(field, 0) + value
        return tallies

    @api.model
    def _restore(self, tallies):
        """Counts drained ``tallies`` back, e.g. when what was to record them
        failed."""
        for name, counts in tallies.items():
            for field, value in counts.items():
                self._count(name, field, value)

    @api.model
    def _too_many_requests(self, decision, message):
        """A 429 exception carrying ``Retry-After`` for a refused decision."""
        return TooManyRequests(
            message, retry_after=ratelimit.retry_after_seconds(decision)
        )

    @api.model
    def _exceeded_message(self, decision, subject="this API key"):
        """What a refused caller is told: the limit and when to retry (in
        English, as every answer to a partner's program)."""
        limit = decision.limit
        return self.with_context(lang="en_US").env._(
            "Rate limit exceeded for %(subject)s: %(limit)s (at most %(quantity)s "
            "calls in %(seconds)s seconds). Retry in %(retry)s seconds.",
            subject=subject,
            limit=str(limit),
            quantity=limit.quantity,
            seconds=limit.seconds,
            retry=ratelimit.retry_after_seconds(decision),
        )

    @api.model
    def _decide(self, key, limits, *, cost, consume, tally=None, unavailable=None):
        if isinstance(limits, str):
            limits = ratelimit.parse_limits(limits)
        if not limits:
            return None
        backend, mode = self._backend()
        start = time.perf_counter()
        try:
            if consume:
                decision = backend.storage.hit(key, limits, cost, tally=tally)
            else:
                decision = backend.storage.peek(key, limits, cost)
            if _logger.isEnabledFor(logging.DEBUG):
                _logger.debug(
                    "Rate limiter: decision on %s by %s in %.3f ms",
                    key,
                    backend.name,
                    (time.perf_counter() - start) * 1000,
                )
        except _redis_errors() as exc:
            if mode == "open":
                self._unreachable(backend, exc, "calls let through without a limit")
                return None
            if unavailable:
                self._unreachable(backend, exc, unavailable)
                return None
            self._unreachable(backend, exc, "calls refused (503)")
            raise RateLimiterUnavailable() from exc
        self._reachable(backend)
        return decision

    @api.model
    def _backend(self):
        """The backend for this database, and the failure mode."""
        params = self.env["ir.config_parameter"].sudo()
        url = (params.get_param(REDIS_URL_PARAM) or "").strip()
        mode = params.get_param(FAILURE_MODE_PARAM) or "closed"
        dbname = self.env.cr.dbname
        namespace = url and params.get_param("database.uuid")
        cache_key = (dbname, url, namespace)
        backend = _backends.get(cache_key)
        if backend is None:
            with _backends_lock:
                backend = _backends.get(cache_key)
                if backend is None:
                    backend = _backends[cache_key] = _make_backend(
                        dbname, url, namespace
                    )
        return backend, ("open" if mode == "open" else "closed")

    def _unreachable(self, backend, exc, consequence):
        now = time.monotonic()
        if backend.down_since is None:
            backend.down_since = now
        if now - backend.warned_at.get(consequence, 0.0) >= UNREACHABLE_LOG_INTERVAL:
            backend.warned_at[consequence] = now
            _logger.warning(
                "Rate limiter: %s is unreachable (%s): %s",
                backend.name,
                exc,
                consequence,
            )

    def _reachable(self, backend):
        if backend.down_since is not None:
            _logger.info(
                "Rate limiter: %s is reachable again after %.0f s",
                backend.name,
                time.monotonic() - backend.down_since,
            )
            backend.down_since = None
            backend.warned_at.clear()

    @api.autovacuum
    def _gc_rate_limit_windows(self):
        """Removes the PostgreSQL windows whose calls have all expired."""
        storage = ratelimit.PostgresStorage(None)
        while storage.purge_expired(self.env.cr, batch=PURGE_BATCH) == PURGE_BATCH:
            pass


def _make_backend(dbname, url, namespace):
    if not url:
        storage = ratelimit.PostgresStorage(Connections(dbname).cursor)
        return _Backend(storage, "PostgreSQL")
    import redis

    client = redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )
    storage = ratelimit.RedisStorage(client, f"integration_gateway:{namespace}:")
    return _Backend(storage, f"Redis at {_safe_url(url)}")


def _safe_url(url):
    """The URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def _redis_errors():
    """The exceptions of an unreachable Redis; none without the package."""
    try:
        import redis
    except ImportError:
        return ()
    return (redis.exceptions.RedisError,)
