"""A small client of Odoo's JSON/2 API: the API key as Bearer token,
errors as exceptions, and patience when the key's rate limit says so.

    odoo = OdooClient("https://odoo.example.com", "your-api-key")
    partners = odoo.call("res.partner", "search_read",
                         domain=[["is_company", "=", True]],
                         fields=["name", "email"], limit=10)
"""

import logging
import time

import requests

log = logging.getLogger("odoo_client")

MAX_WAIT = 300  # seconds; a longer Retry-After means the daily quota is spent


class OdooError(Exception):
    """Odoo refused the call: ``status`` is the HTTP status (403 when the
    key's policy denies it, 429 when the rate limit stays exceeded), and
    ``message`` says why."""

    def __init__(self, response):
        try:
            self.message = response.json()["message"]
        except (ValueError, KeyError):
            self.message = response.text
        self.status = response.status_code
        super().__init__(f"HTTP {self.status}: {self.message}")


class OdooClient:
    def __init__(self, url, api_key, database=None, tries=5):
        self.url = url.rstrip("/")
        self.tries = tries
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        if database:  # only when the server hosts several databases
            self.session.headers["X-Odoo-Database"] = database

    def call(self, model, method, **params):
        """Calls ``model.method(**params)`` and returns its result."""
        for attempt in range(1, self.tries + 1):
            response = self.session.post(
                f"{self.url}/json/2/{model}/{method}", json=params, timeout=60
            )
            if response.status_code == 429 and attempt < self.tries:
                # Over the key's rate limit: Retry-After says when a call
                # will be accepted again.
                wait = int(response.headers.get("Retry-After", "1"))
                if wait > MAX_WAIT:
                    raise OdooError(response)
                log.warning(
                    "rate limited on %s.%s: retrying in %s s", model, method, wait
                )
                time.sleep(wait)
                continue
            if response.status_code != 200:
                raise OdooError(response)
            return response.json()
        raise OdooError(response)
