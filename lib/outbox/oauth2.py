"""OAuth2 client credentials towards receivers (RFC 6749, section 4.4).

A receiver behind an API gateway may want an access token rather than a
signature alone. The endpoint then holds a token URL, a client id and
secret, and optionally a scope and an audience; :class:`ClientCredentials`
is that configuration, compiled once per batch.

The token is asked for once and kept until shortly before its
``expires_in`` (:func:`cache_until`), by every dispatcher of every server:
:class:`TokenCache` keeps it in memory for the threads of one process and
in a shared store (a PostgreSQL table, see the token model) for the others;
the store fetches under a lock, so that dispatchers waking at once ask the
token server once between them.

Sending (:meth:`TokenSource.send`): ``Authorization: Bearer <token>`` is
added; when the receiver answers 401 the token may have been revoked or
have expired early, so a new one is asked for, once, and the same attempt
is made again with it. When no token can be had, the attempt fails with
"could not get a token: ..." and is retried like any failure.

The token request goes through the sender's connections, hence through the
same SSRF guard as the deliveries. Neither the client secret nor a token is
ever part of an error text: a token server's refusal is reduced to its
``error`` and ``error_description`` fields.
"""

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError

from ..messages import Refusal, _lt
from .sender import AuthorizationFailed, DestinationRefused, check_url

TOKEN_TIMEOUT = 10  # seconds for a token request, connecting included
DEFAULT_LIFETIME = 300  # seconds a token without expires_in is used
REFRESH_MARGIN = 60  # seconds before its expiry a token is replaced, at most
MAX_TOKEN_RESPONSE = 64 * 1024  # bytes of a token server's answer read
ERROR_CHARS = 200  # of a token server's error description kept
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class TokenError(AuthorizationFailed):
    """No access token could be had; the text says why (never a secret)."""

    def __init__(self, reason):
        super().__init__(f"could not get a token: {reason}")


def check_token_url(url):
    """Raises ValueError saying what is wrong with a token URL: it must be
    https (the client secret travels in it), except on the loopback
    interface.

    >>> check_token_url("https://auth.example.com/oauth/token")
    >>> check_token_url("http://127.0.0.1:9000/token")
    >>> try:
    ...     check_token_url("http://auth.example.com/token")
    ... except ValueError as exc:
    ...     print(exc)
    'http://auth.example.com/token' is not an https:// URL
    """
    check_url(url)
    parts = urlsplit(url.strip())
    if parts.scheme != "https" and parts.hostname not in LOOPBACK_HOSTS:
        raise Refusal(_lt("%(url)s is not an https:// URL"), url=repr(url))


def cache_until(now, expires_in):
    """Until when (Unix time) a token received at ``now`` with
    ``expires_in`` seconds is used: a tenth of its life before its expiry,
    at most ``REFRESH_MARGIN`` seconds before; ``DEFAULT_LIFETIME`` when the
    server did not say.

    >>> cache_until(1000.0, 3600), cache_until(1000.0, 10), cache_until(1000.0, None)
    (4540.0, 1009.0, 1270.0)
    """
    lifetime = DEFAULT_LIFETIME
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        lifetime = max(float(expires_in), 0.0)
    return now + lifetime - min(REFRESH_MARGIN, lifetime / 10)


def parse_token_response(status, body, now):
    """The token and until when to use it, from a token server's answer;
    raises TokenError saying why there is none.

    >>> parse_token_response(200, b'{"access_token": "t1", "expires_in": 600,'
    ...                      b' "token_type": "Bearer"}', 0.0)
    ('t1', 540.0)
    >>> for status, body in ((401, b'{"error": "invalid_client"}'),
    ...                      (200, b'{"token_type": "mac"}')):
    ...     try:
    ...         parse_token_response(status, body, 0.0)
    ...     except TokenError as exc:
    ...         print(exc)
    could not get a token: the token server answered 401 (invalid_client)
    could not get a token: the token server's answer has no access_token
    """
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if not 200 <= status < 300:
        reason = " ".join(
            str(answer[name])
            for name in ("error", "error_description")
            if isinstance(answer.get(name), str)
        )[:ERROR_CHARS]
        detail = f" ({reason})" if reason else ""
        raise TokenError(f"the token server answered {status}{detail}")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token or not token.isprintable():
        raise TokenError("the token server's answer has no access_token")
    token_type = answer.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(f"the token server gave a {str(token_type)[:20]!r} token")
    return token, cache_until(now, answer.get("expires_in"))


@dataclass(frozen=True)
class ClientCredentials:
    """An endpoint's OAuth2 client: where and as whom to ask for tokens."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    audience: str = ""

    @property
    def cache_key(self):
        """What the token is cached under: a digest of every setting, so
        that a changed secret, URL or scope never reuses a former token.

        >>> a = ClientCredentials("https://a/token", "id", "s1")
        >>> len(a.cache_key), a.cache_key == ClientCredentials(
        ...     "https://a/token", "id", "s2").cache_key
        (64, False)
        """
        fields = (
            self.token_url,
            self.client_id,
            self.client_secret,
            self.scope,
            self.audience,
        )
        return hashlib.sha256("\0".join(fields).encode()).hexdigest()

    def request(self):
        """The body and headers of the token request. The client
        authenticates with HTTP Basic (``client_secret_basic``, which every
        server must accept), its id and secret form-encoded first.

        >>> body, headers = ClientCredentials(
        ...     "https://a/token", "my id", "s", scope="a b").request()
        >>> body, headers["Authorization"]
        ('grant_type=client_credentials&scope=a+b', 'Basic bXkraWQ6cw==')
        """
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        userpass = f"{_form(self.client_id)}:{_form(self.client_secret)}"
        return urlencode(form), {
            "Authorization": "Basic " + base64.b64encode(userpass.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }


def _form(text):
    return quote(text, safe="").replace("%20", "+")


class TokenCache:
    """Tokens by :attr:`ClientCredentials.cache_key`, in memory for the
    threads of this process and, with ``store``, shared with the others.

    ``store(key, fetch, stale)`` returns ``(token, until)``: a token
    another process stored that is still valid and is not ``stale``, or
    the one ``fetch()`` gets, which it stores (it holds a lock while
    fetching, so that one process fetches at a time).

    >>> fetched = []
    >>> def fetch():
    ...     fetched.append(1)
    ...     return f"t{len(fetched)}", 1e12
    >>> cache = TokenCache()
    >>> cache.token("k", fetch), cache.token("k", fetch), len(fetched)
    ('t1', 't1', 1)
    >>> cache.token("k", fetch, stale="t1"), cache.token("k", fetch, stale="t1")
    ('t2', 't2')
    """

    def __init__(self, store=None, clock=time.time):
        self.store = store
        self.clock = clock
        self._tokens = {}
        self._locks = {}
        self._lock = threading.Lock()

    def token(self, key, fetch, stale=None):
        """The token cached under ``key`` unless it expired or is ``stale``
        (refused by a receiver); otherwise a new one."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > self.clock() and cached[0] != stale:
                return cached[0]
            if self.store is None:
                cached = fetch()
            else:
                cached = self.store(key, fetch, stale)
            self._tokens[key] = cached
            return cached[0]

    def forget(self):
        """Drops the tokens kept in memory (not those of the store)."""
        with self._lock:
            self._tokens.clear()


@dataclass(frozen=True)
class TokenSource:
    """What a delivery to an OAuth2-protected endpoint authenticates with."""

    credentials: ClientCredentials
    cache: TokenCache = field(compare=False, repr=False)

    def token(self, pool, stale=None):
        """A valid access token, asked of the token server through ``pool``
        (a guarded urllib3 pool manager) when none is cached."""
        return self.cache.token(
            self.credentials.cache_key, lambda: self.fetch(pool), stale
        )

    def fetch(self, pool):
        """Asks the token server for a new token: ``(token, until)``."""
        body, headers = self.credentials.request()
        try:
            response = pool.request(
                "POST",
                self.credentials.token_url.strip(),
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=TOKEN_TIMEOUT),
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                answer = response.read(MAX_TOKEN_RESPONSE, decode_content=True)
            finally:
                response.close()
        except DestinationRefused as exc:
            raise TokenError(str(exc)) from None
        except (HTTPError, OSError) as exc:
            # The exception's text may quote the pool and URL, never the
            # request's body or headers.
            raise TokenError(f"{type(exc).__name__}: {exc}") from None
        return parse_token_response(response.status, answer, time.time())

    def send(self, post, pool):
        """Makes the request ``post(authorization)`` with a bearer token and
        returns what it returns (its status first); after a 401, once more
        with a new token."""
        token = self.token(pool)
        answer = post(f"Bearer {token}")
        if answer[0] == 401:
            token = self.token(pool, stale=token)
            answer = post(f"Bearer {token}")
        return answer
