"""A real HTTP receiver on 127.0.0.1 for testing outgoing webhooks.

It records every request it gets and answers according to the path:

- ``/ok``: 200;
- ``/status/<code>``: that status; ``?retry_after=<value>`` adds a
  ``Retry-After`` header, ``?location=<url>`` a ``Location`` header;
- ``/slow/<seconds>``: 200 after that long;
- ``/hang``: reads the request and never answers (until the receiver stops);
- ``/script/<name>``: the next answer queued in ``receiver.scripts[name]``
  (``(status, headers, body)`` tuples), 200 once the queue is empty;
- ``/bearer``: 200 when the request carries ``Authorization: Bearer <t>``
  with ``t`` in ``receiver.accepted_tokens``, 401 otherwise (a receiver
  behind an OAuth2 gateway; :class:`TokenServer` issues the tokens).

With ``ssl_context`` (a server-side ``ssl.SSLContext``) it speaks HTTPS;
when that context requires a client certificate, a sender without one is
refused during the handshake, and each request records the certificate it
came with (``Received.client_cert``).

Usage::

    with WebhookReceiver() as receiver:
        url = receiver.url("/ok")
        ...
        receiver.wait_for(1)
        receiver.requests[0].headers["webhook-id"]

The benchmarks and the fault tests use this same receiver (through
``tools/harness``): ``delay`` seconds before every answer, ``stop()`` to
close the port (senders get connection errors, as from a receiver that is
down) and ``start()`` to open it again on the same port, or ``outage`` set
to a status that answers every request (none of them recorded), as a
receiver in an outage does. ``per_second`` makes it accept at most that
many requests in any second and answer the others 429, and ``fail_ratio``
answers that share of the requests, at random, with ``fail_status`` (503
by default); the requests so refused are not recorded as received, but
their arrival times are kept in ``refused``. A request cut off
before its whole body arrived (a sender killed while sending) is not
recorded: it is no delivery. The module imports nothing beyond the
standard library, so that tools load it without Odoo.
"""

import base64
import collections
import contextlib
import errno
import hmac
import json
import random
import secrets
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

# The project's test receivers listen on these ports (the first free one).
PORTS = range(18150, 18200)


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict  # lower-case names
    body: bytes
    at: float  # time.time() when it arrived
    client: tuple  # (address, port) of the connection it came on
    client_cert: dict | None = None  # the TLS client certificate, when any

    @property
    def webhook_id(self):
        """The ``webhook-id`` header (Standard Webhooks), None without it."""
        return self.headers.get("webhook-id")

    @property
    def traceparent(self):
        """The W3C ``traceparent`` header, None without it."""
        return self.headers.get("traceparent")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's
    # algorithm holds the body until the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True  # keep-alive, as a real receiver would

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            # In this connection's thread, not in the accepting one: a client
            # that never completes its handshake must not stop the server.
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        return super().setup()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender died or hung up while sending: not a delivery.
            self.close_connection = True
            return
        peer_cert = getattr(self.connection, "getpeercert", None)
        received = Received(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            at=time.time(),
            client=self.client_address,
            client_cert=peer_cert() if peer_cert else None,
        )
        receiver = self.server.receiver
        if receiver.outage:
            self._send(receiver.outage, {}, b"outage")
            return
        refusal = receiver._refusal(received.at)
        if refusal:
            self._send(refusal, {}, b"refused")
            return
        receiver._record(received)
        if receiver.delay:
            receiver._stopping.wait(receiver.delay)
        status, headers, answer = receiver._answer(self.path, received.headers)
        if status is not None:
            self._send(status, headers, answer)

    def _send(self, status, headers, answer):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST

    def log_message(self, format, *args):
        pass  # the tests assert on what was received, not on a log


class _Server(ThreadingHTTPServer):
    """Remembers its open connections, so that stopping closes the kept-alive
    ones too: a pooled client must not keep talking to a stopped receiver."""

    daemon_threads = True
    allow_reuse_address = True  # started again on its port after a stop
    request_queue_size = 256  # dispatchers open many connections at once

    def __init__(self, *args, **kwargs):
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        return super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        return super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A sender that gave up (timeout, process killed) closed the
        # connection before the answer: no error of the receiver's.
        # A TLS client without the certificate asked for is refused
        # during the handshake.
        if not isinstance(
            sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError
        ):
            return super().handle_error(request, client_address)
        return None

    def close_connections(self):
        with self.connections_lock:
            connections, self.connections = self.connections, set()
        for connection in connections:
            # OSError: the client closed it already.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class WebhookReceiver:
    """A threaded HTTP server recording what it receives; see the module doc."""

    def __init__(self, ports=PORTS, *, delay=0.0, ssl_context=None):
        self.ssl_context = ssl_context
        self.accepted_tokens = set()  # bearer tokens /bearer accepts
        self.requests = []
        self.scripts = collections.defaultdict(collections.deque)
        self.delay = delay  # seconds before every answer
        self.outage = None  # a status answering every request, unrecorded
        self.per_second = 0  # requests accepted in any second; 0: no limit
        self.fail_ratio = 0.0  # share of requests answered fail_status
        self.fail_status = 503
        self.refused = []  # arrival times of the requests refused
        self._accepted_at = collections.deque()
        self._random = random.Random(1)
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server = self._bind(ports)
        self._port = self._server.server_address[1]
        self._thread = None

    def _bind(self, ports):
        for port in ports:
            try:
                server = _Server(("127.0.0.1", port), _Handler)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            if self.ssl_context is not None:
                server.socket = self.ssl_context.wrap_socket(
                    server.socket, server_side=True, do_handshake_on_connect=False
                )
            return server
        raise OSError(f"no free port for the test receiver in {ports}")

    @property
    def port(self):
        return self._port

    def url(self, path="/ok", host="127.0.0.1"):
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self):
        """Serves; after ``stop()``, on the same port again."""
        if self._server is None:
            self._stopping.clear()
            self._server = self._bind([self._port])
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        """Closes the port and the open connections: senders get connection
        errors until ``start()``."""
        if self._server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            # Waits for serve_forever, which never ran without a thread.
            self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def clear(self):
        with self._changed:
            self.requests.clear()

    def snapshot(self):
        """The requests received so far (a copy: more may be arriving)."""
        with self._changed:
            return list(self.requests)

    def wait_for(self, count, timeout=10):
        """Waits until ``count`` requests arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} requests, received {len(self.requests)}"
                    )
                self._changed.wait(left)
            return list(self.requests)

    def _refusal(self, at):
        """The status refusing a request arrived at ``at`` (per_second,
        fail_ratio), or None when it is accepted."""
        with self._changed:
            status = None
            if self.per_second:
                while self._accepted_at and self._accepted_at[0] <= at - 1.0:
                    self._accepted_at.popleft()
                if len(self._accepted_at) >= self.per_second:
                    status = 429
            if status is None and self._random.random() < self.fail_ratio:
                status = self.fail_status
            if status is None:
                if self.per_second:
                    self._accepted_at.append(at)
                return None
            self.refused.append(at)
            return status

    def _record(self, received):
        with self._changed:
            self.requests.append(received)
            self._changed.notify_all()

    def _answer(self, path, request_headers=None):
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = parts.path.strip("/").split("/")
        headers = {}
        if "retry_after" in query:
            headers["Retry-After"] = query["retry_after"]
        if "location" in query:
            headers["Location"] = query["location"]
        match segments:
            case ["status", code]:
                return int(code), headers, f"status {code}".encode()
            case ["slow", seconds]:
                self._stopping.wait(float(seconds))
                return 200, headers, b"slow ok"
            case ["hang"]:
                self._stopping.wait()
                return None, {}, b""
            case ["bearer"]:
                scheme, _, token = (
                    (request_headers or {}).get("authorization", "").partition(" ")
                )
                if scheme == "Bearer" and token in self.accepted_tokens:
                    return 200, headers, b"ok"
                return 401, {"WWW-Authenticate": "Bearer"}, b"unauthorized"
            case ["script", name]:
                queue = self.scripts[name]
                if queue:
                    return queue.popleft()
                return 200, {}, b"ok"
        return 200, headers, b"ok"


class _TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        form = {
            unquote_plus(name): unquote_plus(value)
            for name, _, value in (item.partition("=") for item in body.split("&"))
            if name
        }
        status, answer = self.server.token_server._issue(
            self.headers.get("Authorization", ""), form
        )
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        pass


class TokenServer:
    """A real OAuth2 token endpoint (client credentials, RFC 6749 4.4) on
    127.0.0.1 for tests: ``POST /token`` with HTTP Basic client
    authentication and ``grant_type=client_credentials`` gets a new random
    bearer token valid ``expires_in`` seconds, also added to the
    ``accepted_tokens`` of ``receiver`` when given; a wrong client gets 401
    ``invalid_client``, and ``refuse`` (a status) refuses every request.
    ``requests`` holds each request's form; ``issued`` the tokens."""

    def __init__(self, client_id, client_secret, *, expires_in=3600, receiver=None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.receiver = receiver
        self.refuse = None
        self.requests = []
        self.issued = []
        self._lock = threading.Lock()
        self._server = None
        for port in range(18200, 18250):
            try:
                self._server = _Server(("127.0.0.1", port), _TokenHandler)
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        if self._server is None:
            raise OSError("no free port for the test token server")
        self._server.token_server = self
        self._thread = None

    def url(self, path="/token"):
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(0.05,),  # seconds between checks for shutdown
            name="token-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        # Kept-alive connections too: a sender's pooled connection must not
        # reach this server's handlers in the next test.
        self._server.close_connections()
        self._thread.join(5)

    def _issue(self, authorization, form):
        expected = (
            "Basic "
            + base64.b64encode(
                f"{self.client_id}:{self.client_secret}".encode()
            ).decode()
        )
        with self._lock:
            self.requests.append(form)
            if self.refuse:
                return self.refuse, {"error": "temporarily_unavailable"}
            if not hmac.compare_digest(authorization.encode(), expected.encode()):
                return 401, {"error": "invalid_client"}
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}
            token = f"tok{len(self.issued) + 1}-{secrets.token_urlsafe(16)}"
            self.issued.append(token)
            if self.receiver is not None:
                self.receiver.accepted_tokens.add(token)
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }
