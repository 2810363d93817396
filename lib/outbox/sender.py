"""Sending outgoing webhooks over HTTP: pooled connections, bounded
concurrency, and an SSRF guard on the address actually connected to.

The guard runs where the socket is opened: the host name is resolved there,
every address is checked with :func:`networks.forbidden_destination`, and the
socket connects to a checked address. A name that resolved to a public
address when the endpoint was saved and to 127.0.0.1 now (DNS rebinding) is
therefore refused. Redirects are never followed: a 3xx is an answer like any
other, so a receiver cannot bounce a request to an internal address.
"""

import base64
import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from .. import networks, standard_webhooks, trace_context
from ..messages import Refusal, _lt

try:
    import certifi
except ImportError:  # pragma: no cover - requests ships it
    certifi = None

CONCURRENCY = 16  # requests in flight per dispatcher
# Connections kept open per receiver, for every dispatcher of the process; a
# full pool would drop (and warn about) each extra connection after use.
POOL_SIZE = 128
EXCERPT_CHARS = 1000  # of a response body kept with an attempt
DRAIN_BYTES = 64 * 1024  # read past the excerpt so the connection can be reused
USER_AGENT = "Odoo-Integration-Gateway/1.0"
# Set by the sender itself; an endpoint's extra headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
        "connection",
    }
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class HeadersError(Refusal):
    """An endpoint's extra headers are not a JSON object of names to text;
    a :class:`Refusal`, translated where it is shown."""


class DestinationRefused(Exception):
    """The request would reach an address outside the public internet."""


class AuthorizationFailed(Exception):
    """The credentials towards the receiver (an OAuth2 token, a client
    certificate) could not be had or used; the text says why, without any
    secret. See :mod:`.oauth2` and :mod:`.tls`."""


# -- configuration checks --------------------------------------------------


def check_url(url):
    """Raises ValueError saying what is wrong with a webhook URL."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise Refusal(
            _lt("%(url)s is not a valid URL: %(error)s"), url=repr(url), error=str(exc)
        ) from exc
    if parts.scheme not in ("http", "https"):
        raise Refusal(_lt("%(url)s is not an http:// or https:// URL"), url=repr(url))
    if not parts.hostname:
        raise Refusal(_lt("%(url)s has no host name"), url=repr(url))
    if port == 0:
        raise Refusal(_lt("%(url)s has no valid port"), url=repr(url))


def parse_headers(text):
    """Parses an endpoint's extra headers, a JSON object of names to text.

    Returns a dict; raises HeadersError saying what is wrong. Empty text gives
    an empty dict.
    """
    if not (text or "").strip():
        return {}
    try:
        headers = json.loads(text)
    except ValueError as exc:
        raise HeadersError(
            _lt("the headers are not valid JSON: %(error)s"), error=str(exc)
        ) from exc
    if not isinstance(headers, dict):
        raise HeadersError(
            _lt("the headers must be a JSON object, e.g. %(example)s"),
            example='{"X-Token": "abc"}',
        )
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise HeadersError(
                _lt("%(name)s is not a valid header name"), name=repr(name)
            )
        if name.lower() in RESERVED_HEADERS:
            raise HeadersError(
                _lt("the header %(name)s is set by the sender itself"), name=repr(name)
            )
        if not isinstance(value, str):
            raise HeadersError(
                _lt("the value of header %(name)s must be text"), name=repr(name)
            )
        if "\r" in value or "\n" in value:
            raise HeadersError(
                _lt("the value of header %(name)s contains a line break"),
                name=repr(name),
            )
    return headers


def split_credentials(url):
    """Splits ``user:password@`` out of a URL: returns the URL without it and
    the matching ``Authorization`` header value, or None."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit(parts._replace(netloc=netloc))
    userpass = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return clean, "Basic " + base64.b64encode(userpass.encode()).decode()


def private_destination(url, resolver=socket.getaddrinfo):
    """Why ``url`` reaches a non-public address now (loopback, private, ...),
    or None when it does not or cannot be resolved."""
    host = urlsplit(url).hostname
    try:
        infos = resolver(host, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        reason = networks.forbidden_destination(info[4][0])
        if reason:
            return reason
    return None


# -- guarded connections ---------------------------------------------------


class _GuardedConnectionMixin:
    """Opens the socket only to an address the endpoint may reach."""

    allow_private = False
    resolver = staticmethod(socket.getaddrinfo)

    def _new_conn(self):
        host, port = self._dns_host, self.port
        try:
            infos = self.resolver(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise NewConnectionError(self, f"cannot resolve {host}: {exc}") from exc
        refusals, error = [], None
        for family, kind, proto, _name, address in infos:
            reason = (
                None
                if self.allow_private
                else networks.forbidden_destination(address[0])
            )
            if reason:
                refusals.append(reason)
                continue
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if isinstance(self.timeout, int | float):
                    sock.settimeout(self.timeout)
                sock.connect(address)
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(
                    self, f"connecting to {host} timed out"
                ) from exc
            except OSError as exc:
                sock.close()
                error = exc
                continue
            return sock
        if error is not None:
            raise NewConnectionError(self, f"cannot connect to {host}: {error}")
        raise DestinationRefused(
            f"refused to connect to {host}: {refusals[0]} "
            "(the endpoint does not allow private networks)"
        )


def _pool_manager(allow_private, resolver, maxsize, ssl_context=None):
    attrs = {"allow_private": allow_private, "resolver": staticmethod(resolver)}
    http_conn = type(
        "GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), attrs
    )
    https_conn = type(
        "GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), attrs
    )
    kwargs = {"maxsize": maxsize, "block": False, "retries": False}
    if ssl_context is not None:
        # It holds the client certificate and the authorities to trust.
        kwargs["ssl_context"] = ssl_context
    elif certifi is not None:
        kwargs["ca_certs"] = certifi.where()
    manager = urllib3.PoolManager(num_pools=256, **kwargs)
    manager.pool_classes_by_scheme = {
        "http": type(
            "GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}
        ),
        "https": type(
            "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
        ),
    }
    return manager


# -- sending ----------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One HTTP POST to make. ``not_before`` (Unix time) paces throttled
    endpoints: the request does not start earlier. With ``secrets``, the
    request is signed per Standard Webhooks as ``msg_id`` when it is sent,
    so that ``webhook-timestamp`` is the time of sending."""

    url: str
    body: bytes
    headers: dict
    timeout: float
    allow_private: bool = False
    not_before: float = 0.0
    msg_id: str | None = None
    secrets: tuple = ()
    auth: object = None  # an oauth2.TokenSource
    tls: object = None  # a tls.ClientTLS
    # W3C trace of the delivery, its caller's span, and the attempt's span
    # (lib.trace_context).
    trace_id: str | None = None
    parent_span_id: str | None = None
    span_id: str | None = None


@dataclass(frozen=True)
class Result:
    """What happened to one Message. ``sent`` is False when the request was
    not started because it could not have finished before the deadline."""

    started_at: float
    duration_ms: int = 0
    status_code: int | None = None
    response_excerpt: str = ""
    error: str | None = None
    retry_after: str | None = None
    sent: bool = True


class Sender:
    """Posts messages through pooled, SSRF-guarded connections, at most
    ``concurrency`` at a time per call of :meth:`send_many`. Thread-safe;
    meant to live as long as the process so that connections to receivers
    are kept alive from one batch to the next."""

    def __init__(self, concurrency=CONCURRENCY, resolver=socket.getaddrinfo):
        self.concurrency = concurrency
        self._resolver = resolver
        self._managers = {
            flag: _pool_manager(flag, resolver, POOL_SIZE) for flag in (False, True)
        }

    def send(self, message, deadline=None):
        """Sends one message; returns its Result. ``deadline`` (Unix time):
        do not start when the request could still run past it."""
        start_at = max(time.time(), message.not_before)
        if deadline is not None and start_at + message.timeout > deadline:
            return Result(started_at=start_at, sent=False)
        if start_at > time.time():
            time.sleep(start_at - time.time())
        started = time.time()
        try:
            if message.auth is None:
                status, excerpt, retry_after = self._post(message, started)
            else:
                status, excerpt, retry_after = message.auth.send(
                    lambda authorization: self._post(message, started, authorization),
                    self._managers[message.allow_private],
                )
        except (DestinationRefused, AuthorizationFailed) as exc:
            return self._result(started, error=str(exc))
        except NewConnectionError as exc:
            # Before the timeouts: urllib3 makes it a ConnectTimeoutError.
            return self._result(started, error=_connection_error(exc))
        except (ConnectTimeoutError, ReadTimeoutError, TimeoutError):
            return self._result(started, error=f"timed out after {message.timeout:g} s")
        except SSLError as exc:
            return self._result(started, error=f"TLS error: {exc}")
        except (HTTPError, OSError) as exc:
            return self._result(started, error=f"{type(exc).__name__}: {exc}")
        return self._result(
            started,
            status_code=status,
            response_excerpt=excerpt,
            retry_after=retry_after,
        )

    def send_many(self, messages, deadline=None):
        """Sends messages concurrently; returns their Results in order."""
        if len(messages) <= 1:
            return [self.send(message, deadline) for message in messages]
        # Threads of its own for each call: dispatchers running side by side
        # in one process each get their concurrency (thread start-up is
        # cheap next to a batch of requests).
        workers = min(self.concurrency, len(messages))
        with ThreadPoolExecutor(workers, thread_name_prefix="webhook-sender") as pool:
            return list(pool.map(lambda m: self.send(m, deadline), messages))

    def _manager(self, message):
        if message.tls is None:
            return self._managers[message.allow_private]
        return message.tls.manager(message.allow_private, self._resolver)

    def _post(self, message, started, bearer=None):
        url, authorization = split_credentials(message.url)
        headers = {
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",
            **message.headers,
            "Content-Type": "application/json",
        }
        if bearer:
            headers["Authorization"] = bearer
        elif authorization and "Authorization" not in headers:
            headers["Authorization"] = authorization
        headers.update(
            trace_context.outgoing_headers(message.trace_id, message.span_id)
        )
        if message.secrets:
            headers.update(
                standard_webhooks.sign_headers(
                    message.secrets, message.msg_id, message.body
                )
            )
        response = self._manager(message).request(
            "POST",
            url,
            body=message.body,
            headers=headers,
            timeout=urllib3.Timeout(total=message.timeout),
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            body = bytearray()
            for chunk in response.stream(8192, decode_content=False):
                body += chunk
                if len(body) > DRAIN_BYTES:
                    # Too long to drain: drop the connection rather than the
                    # next request's time.
                    response.close()
                    break
                if time.time() - started > message.timeout:
                    raise TimeoutError
            else:
                response.release_conn()
        except BaseException:
            response.close()
            raise
        excerpt = bytes(body[: EXCERPT_CHARS * 4]).decode("utf-8", "replace")
        return (
            response.status,
            excerpt[:EXCERPT_CHARS],
            response.headers.get("Retry-After"),
        )

    @staticmethod
    def _result(started, **values):
        duration = int((time.time() - started) * 1000)
        return Result(started_at=started, duration_ms=duration, **values)


def _connection_error(exc):
    # urllib3 prefixes the pool's repr; keep the reason only.
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("<") and ": " in text else text
