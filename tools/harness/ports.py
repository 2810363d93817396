"""Ports for the servers the project starts on 127.0.0.1.

Within ``IG_PORTS`` (``low-high``) when it is set, so that runs sharing a
machine stay in their own span, else wherever the system finds a free one.
"""

import os
import random
import socket
import threading

_ports_lock = threading.Lock()
_ports_given = set()


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def allocate_port():
    """A port nobody listens on, not handed out before by this process:
    within ``IG_PORTS`` (``low-high``) when set, else any free port."""
    with _ports_lock:
        span = os.environ.get("IG_PORTS", "").strip()
        if not span:
            while True:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                if port not in _ports_given:
                    _ports_given.add(port)
                    return port
        low, high = (int(part) for part in span.split("-"))
        ports = list(range(low, high + 1))
        # A random start, so that two runs sharing the span rarely collide.
        start = random.randrange(len(ports))  # noqa: S311
        for port in ports[start:] + ports[:start]:
            if port not in _ports_given and _bindable(port):
                _ports_given.add(port)
                return port
        raise RuntimeError(f"no free port left in IG_PORTS={span}")


free_port = allocate_port
