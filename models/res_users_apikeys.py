import collections
import hashlib
import hmac
import logging
import os
import time

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.http import request
from odoo.tools import SQL

from odoo.addons.base.models.res_users import INDEX_SIZE, KEY_CRYPT_CONTEXT

from ..legacy_rpc import LEGACY_RPC_CHECKED
from ..lib import api_policy
from ..plumbing import own_cursor

_logger = logging.getLogger(__name__)

# Verified keys are cached under an HMAC of the token keyed with a secret
# drawn once per process: the cache never holds a token, nor anything that
# could be checked against one outside this process.
_CACHE_SECRET = os.urandom(32)

# Keyed hashes of the tokens this process has verified, most recent last:
# a call presenting one of them is no guess, so the guard against key
# guessing need not consult its storage for it (see ir_http). Bounded, and
# only ever filled by a successful pbkdf2 check, so a guesser cannot grow
# it; a key revoked since is still refused by the check that follows.
_VERIFIED_MAX = 4096
_verified_digests = collections.OrderedDict()

# The only field a write may change on a key: who owns a key and what the
# key is are fixed when it is issued.
WRITABLE_FIELDS = frozenset({"integration_policy_id"})

# When a key was last used is written at most this often, so that a key
# called a thousand times a minute costs one write a minute, not a thousand.
LAST_USE_INTERVAL = 60  # seconds
# (database, key id) -> time.monotonic() of this process's last write: the
# database decides (a write happens only when the last one is older than the
# interval), this only spares the attempts.
_last_use_written = {}


class _UnknownToken(Exception):
    """No key has this token; raised inside the cached lookup so that the
    cache never remembers a miss (guessed tokens must not fill it)."""


class ResUsersApikeys(models.Model):
    """API keys with a policy, and a Bearer check that remembers which key
    authenticated.

    Checking a key costs a pbkdf2 hash (about 6 ms). The fact that a token
    is the key of row N never changes, so it is cached per worker under a
    keyed hash of the token; everything that can change (the key still
    exists, its user is active, its scope, expiry and policy, the policy's
    revision) is read fresh by one indexed query on every request, the
    default policy through Odoo's cache of system parameters, which every
    change clears on all workers. A revoked key, an archived user or a
    tightened policy therefore takes effect on every worker at once;
    removals also clear the cache through Odoo's cache signalling.
    """

    _inherit = "res.users.apikeys"

    integration_policy_id = fields.Many2one(
        "integration.api.policy",
        string="Policy",
        ondelete="restrict",
        groups="integration_gateway.group_integration_manager",
        help="What the key may do. Keys without a policy get the default "
        "policy of Settings, or Odoo's own behaviour when none is set.",
    )

    last_used_at = fields.Datetime(
        string="Last Used",
        compute="_compute_last_used",
        help="When the key last authenticated a call (updated once a minute).",
    )
    last_used_ip = fields.Char(
        string="Last Used From",
        compute="_compute_last_used",
        help="The client address of that call.",
    )

    def init(self):
        result = super().init()
        # Written on a connection of its own by read-only and failing calls
        # too; no foreign key, so that it can be written for a key the
        # writer's transaction cannot see yet.
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS integration_api_key_last_use (
                    key_id integer PRIMARY KEY,
                    used_at timestamp NOT NULL,
                    ip varchar
                )
                """
            )
        )
        # The table is made by hand (_auto = False): the ORM adds no column.
        table = SQL.identifier(self._table)
        self.env.cr.execute(
            SQL(
                "ALTER TABLE %s ADD COLUMN IF NOT EXISTS integration_policy_id integer",
                table,
            )
        )
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON %s (integration_policy_id)",
                SQL.identifier(f"{self._table}_integration_policy_id_idx"),
                table,
            )
        )
        # Bearer checks look a token up by its index alone; Odoo's own index
        # leads with user_id.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS %s ON %s (index)",
                SQL.identifier(f"{self._table}_integration_index_idx"),
                table,
            )
        )
        self.pool.add_foreign_key(
            self._table,
            "integration_policy_id",
            "integration_api_policy",
            "id",
            "restrict",
            self,
            "integration_gateway",
        )
        return result

    @api.model
    def _integration_check_key_call(self):
        """Raises AccessError when the current call is authenticated by an
        API key (JSON/2, or legacy RPC): keys are changed by people in
        Odoo, never by a key, whatever its policy allows and through
        whichever path (a key could otherwise lift its own policy). The
        policy's reach check refuses such calls first; this is the wall
        behind it."""
        if LEGACY_RPC_CHECKED.get(None) is not None or (
            request and getattr(request, "integration_api_key", None) is not None
        ):
            raise AccessError(
                self.env._(
                    "API keys cannot be created, changed or removed with an API key."
                )
            )

    def _compute_last_used(self):
        self.env.cr.execute(
            SQL(
                "SELECT key_id, used_at, ip FROM integration_api_key_last_use "
                "WHERE key_id = ANY(%s)",
                self.ids,
            )
        )
        uses = {key_id: (used_at, ip) for key_id, used_at, ip in self.env.cr.fetchall()}
        for key in self:
            key.last_used_at, key.last_used_ip = uses.get(key.id, (False, False))

    @api.model_create_multi
    def create(self, vals_list):
        self._integration_check_key_call()
        return super().create(vals_list)

    def write(self, vals):
        self._integration_check_key_call()
        if forbidden := set(vals) - WRITABLE_FIELDS:
            raise AccessError(
                self.env._(
                    "Only the policy of an API key can be changed, not %(fields)s.",
                    fields=", ".join(sorted(forbidden)),
                )
            )
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        self._integration_check_key_call()
        result = super().unlink()
        # Not needed for correctness (every request reads its key's row),
        # but drops the cached entries of removed keys on every worker.
        self.env.registry.clear_cache()
        return result

    def _check_credentials(self, *, scope, key):
        if scope != "rpc" or not key:
            return super()._check_credentials(scope=scope, key=key)
        api_key = self._integration_authenticate(key)
        if api_key is None:
            return None
        if request:
            request.integration_api_key = api_key
        elif not self._integration_legacy_call_checked(api_key):
            return None
        return api_key.user_id

    @api.model
    def _integration_authenticate(self, token, scope="rpc"):
        """The :class:`lib.api_policy.ApiKey` of ``token`` when it is a
        valid key of an active user for ``scope``, else None."""
        key_id = self._integration_key_id_of(token)
        if key_id is None:
            return None
        api_key = self._integration_key_state(key_id, scope)
        if api_key is None and request:
            # The token is a key's, refused for its state: the Bearer check
            # can tell its holder why without hashing the token again.
            request.integration_refused_key_id = key_id
        return api_key

    @api.model
    def _integration_key_id_of(self, token):
        """The id of the key whose secret is ``token``, or None."""
        try:
            return self._integration_key_id(self._integration_digest(token), token)
        except _UnknownToken:
            return None

    @api.model
    def _integration_token_verified(self, token):
        """Whether this process has verified ``token`` as a key before: no
        hashing but the keyed digest, no query."""
        return self._integration_digest(token) in _verified_digests

    @api.model
    def _integration_digest(self, token):
        return hmac.new(
            _CACHE_SECRET, token.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()

    @api.model
    @tools.ormcache("digest")
    def _integration_key_id(self, digest, token):
        """The id of the key whose secret is ``token``, found by the
        token's keyed hash ``digest`` in the cache or by checking the
        hashes of the keys with the token's index."""
        self.env.cr.execute(
            SQL(
                "SELECT id, key FROM %s WHERE index = %s ORDER BY id",
                SQL.identifier(self._table),
                token[:INDEX_SIZE],
            )
        )
        for key_id, hashed in self.env.cr.fetchall():
            if KEY_CRYPT_CONTEXT.verify(token, hashed):
                _verified_digests[digest] = key_id
                while len(_verified_digests) > _VERIFIED_MAX:
                    _verified_digests.popitem(last=False)
                return key_id
        raise _UnknownToken

    def _integration_key_state(self, key_id, scope, *, expired=False):
        """Reads what may have changed about key ``key_id`` since it was
        cached, in one query, and returns its ApiKey, or None when it no
        longer authenticates (removed, user archived, other scope, expired).
        With ``expired``, the ApiKey only of a key that authenticates but
        for having expired.
        """
        self.flush_model(["integration_policy_id"])
        Policy = self.env["integration.api.policy"]
        Policy.flush_model(["revision"])
        # Read by the one parser of the setting, through Odoo's cache of
        # system parameters, which every change of it clears on all workers.
        default_id = Policy._integration_default_policy_id()
        self.env.cr.execute(
            SQL(
                """
                SELECT k.user_id, k.expiration_date, k.create_date,
                       w.policy_id, p.revision, k.name
                  FROM %(keys)s k
                  JOIN res_users u ON u.id = k.user_id
                 CROSS JOIN LATERAL (
                       SELECT COALESCE(k.integration_policy_id, %(default)s)
                              AS policy_id) w
                  LEFT JOIN integration_api_policy p ON p.id = w.policy_id
                 WHERE k.id = %(key_id)s
                   AND u.active
                   AND (k.scope IS NULL OR k.scope = %(scope)s)
                """,
                keys=SQL.identifier(self._table),
                default=default_id,
                key_id=key_id,
                scope=scope,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            return None
        user_id, expiration_date, create_date, policy_id, revision, name = row
        lifetime = 0
        if policy_id is not None:
            # A policy named but gone (revision None), or a default setting
            # that cannot be read, compiles to one that refuses everything:
            # a broken setting must not open the door.
            policy = self.env["integration.api.policy"]._integration_compiled(
                policy_id, revision
            )
            lifetime = policy.max_key_lifetime_days
        expires_at = api_policy.key_expiry(expiration_date, create_date, lifetime)
        api_key = api_policy.ApiKey(
            key_id=key_id,
            user_id=user_id,
            policy_id=policy_id,
            policy_revision=revision,
            expires_at=expires_at,
            lifetime_capped=expires_at != expiration_date,
            name=name,
        )
        if api_key.expired(fields.Datetime.now()) != expired:
            return None
        return api_key

    @api.model
    def _integration_expired_key(self):
        """The ApiKey of the key the current request's token was found to
        be and refused, when that key, of an active user, expired (its own
        expiry or its policy's lifetime); else None. Only the holder of a
        key's very token learns that it expired."""
        key_id = getattr(request, "integration_refused_key_id", None)
        if key_id is None:
            return None
        return self._integration_key_state(key_id, "rpc", expired=True)

    @api.model
    def _integration_note_use(self, key_id, address):
        """Records that key ``key_id`` was used from ``address`` now, at most
        once per LAST_USE_INTERVAL, on a connection of its own."""
        dbname = self.env.cr.dbname
        now = time.monotonic()
        if now - _last_use_written.get((dbname, key_id), -LAST_USE_INTERVAL) < (
            LAST_USE_INTERVAL
        ):
            return
        _last_use_written[(dbname, key_id)] = now
        with own_cursor(dbname) as cr:
            cr.execute(
                SQL(
                    """
                    INSERT INTO integration_api_key_last_use AS u (key_id, used_at, ip)
                    VALUES (%s, now() at time zone 'UTC', %s)
                    ON CONFLICT (key_id) DO UPDATE
                       SET used_at = EXCLUDED.used_at, ip = EXCLUDED.ip
                     WHERE u.used_at < EXCLUDED.used_at - make_interval(secs => %s)
                    """,
                    key_id,
                    address,
                    LAST_USE_INTERVAL,
                )
            )

    @api.autovacuum
    def _gc_integration_last_use(self):
        """Forgets when removed keys were last used."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM integration_api_key_last_use u WHERE NOT EXISTS "
                "(SELECT 1 FROM %s k WHERE k.id = u.key_id)",
                SQL.identifier(self._table),
            )
        )
