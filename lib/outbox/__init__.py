"""The outbox: the life of an outgoing webhook, without a database.

* :mod:`.delivery` — a delivery's states and what one HTTP try does to it;
* :mod:`.endpoint` — an endpoint's settings, compiled once per batch, the
  health rules that disable it, its signing secrets and its test event;
* :mod:`.oauth2` — OAuth2 client credentials: tokens shared by every
  dispatcher, a new one after a 401;
* :mod:`.pacing` — throttle slots, and how long a dispatcher cron waits;
* :mod:`.retry` — the retry schedule, ``Retry-After`` and the one rule of
  success;
* :mod:`.sender` — the HTTP sender: pooled connections, the SSRF guard at
  the socket;
* :mod:`.tls` — client certificates (mutual TLS) and CA bundles.

The dispatcher model (``models/integration_webhook_dispatcher*.py``: the
cron loop, the claim, the store) claims rows, calls these and stores their
answers.
"""

from . import delivery, endpoint, oauth2, pacing, retry, sender, tls

__all__ = ["delivery", "endpoint", "oauth2", "pacing", "retry", "sender", "tls"]
