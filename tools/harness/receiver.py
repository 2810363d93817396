"""The webhook receiver of benchmarks and fault tests: the one the addon's
tests use (``tests/webhook_receiver.py``), on a port of ``allocate_port``.

``tests/`` is a package of Odoo tests, which the tools cannot import
without Odoo: the receiver's module (standard library only) is loaded from
its file.
"""

import importlib.util
import sys

from .paths import ROOT
from .ports import allocate_port


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses look their module up while it runs.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


webhook_receiver = _load("webhook_receiver", ROOT / "tests" / "webhook_receiver.py")
WebhookReceiver = webhook_receiver.WebhookReceiver
Received = webhook_receiver.Received


def new_receiver(delay=0.0):
    """A receiver (not started: its port is closed until ``start()``) on a
    port within ``IG_PORTS``, answering every request after ``delay``
    seconds; senders use ``url("/hook")``, answered 200."""
    found = WebhookReceiver(ports=[allocate_port()], delay=delay)
    # Closed until started: a sender meanwhile gets connection errors.
    found.stop()
    return found
