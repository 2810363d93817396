"""A webhook receiver for benchmarks and fault tests."""

import http.server
import sys
import threading
import time
from dataclasses import dataclass

from .ports import allocate_port


@dataclass(frozen=True)
class Hit:
    """One POST a receiver got."""

    webhook_id: str | None
    at: float  # time.monotonic()
    wall: float  # time.time(), to compare with times stored by Odoo
    headers: dict
    body: bytes


def _quiet_disconnects(server, request, client_address):
    # A sender that gave up (timeout, killed process) closed the connection
    # before the answer: what fault tests cause on purpose, not an error.
    exc = sys.exc_info()[1]
    if not isinstance(exc, ConnectionError):
        http.server.ThreadingHTTPServer.handle_error(server, request, client_address)


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST it receives.

    ``status`` (an int, or a callable taking the request number and returning
    one) is what it answers; ``delay`` seconds it waits first. ``received``
    holds a ``Hit`` per request. ``stop()`` closes the port so that senders
    get connection errors (a receiver that is down); ``start()`` opens it
    again on the same port."""

    def __init__(self, port=None, status=200, delay=0.0):
        self.port = port or allocate_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.status = status
        self.delay = delay
        self.received = []
        self._lock = threading.Lock()
        self._server = None

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this,
            # Nagle's algorithm holds the body until the client's delayed
            # ACK, 40 ms per request on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died or hung up while sending (a server
                    # killed): an incomplete request, not a delivery.
                    self.close_connection = True
                    return
                hit = Hit(
                    self.headers.get("webhook-id"),
                    time.monotonic(),
                    time.time(),
                    dict(self.headers.items()),
                    body,
                )
                with receiver._lock:
                    number = len(receiver.received)
                    receiver.received.append(hit)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                code = status(number) if callable(status) else status
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        return Handler

    def start(self):
        server_class = type(
            "ReceiverServer",
            (http.server.ThreadingHTTPServer,),
            {
                "allow_reuse_address": True,
                "request_queue_size": 256,
                "handle_error": _quiet_disconnects,
            },
        )
        self._server = server_class(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def hits(self):
        with self._lock:
            return list(self.received)

    def ids(self):
        return [hit.webhook_id for hit in self.hits()]

    def reset(self):
        with self._lock:
            self.received.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
