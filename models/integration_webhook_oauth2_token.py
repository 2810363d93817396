import threading
import time

from odoo import api, fields, models

from ..lib.outbox import oauth2
from ..plumbing import own_cursor

# Transaction-level advisory locks of token fetches: (this class, hash of
# the credentials' cache key), apart from the rate limiter's class.
LOCK_CLASS = 1919250541
KEEP_EXPIRED = 24 * 3600  # seconds an expired token's row is kept

_caches_lock = threading.Lock()
_caches = {}  # per database: this process's oauth2.TokenCache


def store_token(dbname, key, fetch, stale):
    """The shared store of :class:`lib.outbox.oauth2.TokenCache`: the token
    stored under ``key`` while it is valid and not ``stale``, else the one
    ``fetch()`` gets, stored. The row's advisory lock is held while
    fetching, so that dispatchers asking at once ask the token server once.

    On a connection of its own, committed at once: the token serves every
    dispatcher whatever becomes of the batch that fetched it."""
    with own_cursor(dbname) as cr:
        cr.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, key])
        cr.execute(
            "SELECT access_token, expires_at FROM integration_webhook_oauth2_token "
            "WHERE key = %s",
            [key],
        )
        row = cr.fetchone()
        if row and row[1] > time.time() and row[0] != stale:
            return row[0], row[1]
        token, until = fetch()
        cr.execute(
            "INSERT INTO integration_webhook_oauth2_token "
            "(key, access_token, expires_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET access_token = EXCLUDED.access_token, "
            "expires_at = EXCLUDED.expires_at",
            [key, token, until],
        )
        return token, until


class IntegrationWebhookOauth2Token(models.Model):
    """The OAuth2 access tokens of endpoints, shared by every dispatcher:
    one row per client configuration (a digest of token URL, client id and
    secret, scope and audience), written on connections of its own (see
    :func:`store_token`)."""

    _name = "integration.webhook.oauth2.token"
    _description = "Webhook OAuth2 Token"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    access_token = fields.Char(required=True, readonly=True, groups="base.group_system")
    expires_at = fields.Float(
        string="Used Until (Unix time)",
        readonly=True,
        help="Shortly before the expiry the token server gave.",
    )

    _key_unique = models.Constraint("UNIQUE(key)", "One token per client.")

    @api.model
    def _token_cache(self):
        """This process's token cache for the database, shared by the
        dispatcher threads, backed by this table."""
        dbname = self.env.cr.dbname
        with _caches_lock:
            cache = _caches.get(dbname)
            if cache is None:
                cache = _caches[dbname] = oauth2.TokenCache(
                    store=lambda key, fetch, stale: store_token(
                        dbname, key, fetch, stale
                    )
                )
            return cache

    @api.autovacuum
    def _gc_expired_tokens(self):
        self.env.cr.execute(
            "DELETE FROM integration_webhook_oauth2_token WHERE expires_at < %s",
            [time.time() - KEEP_EXPIRED],
        )
