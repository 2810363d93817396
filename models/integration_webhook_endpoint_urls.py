from urllib.parse import urlsplit

from odoo import api, models

from ..lib import endpoint_urls
from ..lib.outbox import endpoint as outbox_endpoint


class IntegrationWebhookEndpoint(models.Model):
    """One endpoint per address: URLs are stored in one spelling
    (``lib.endpoint_urls.normalize_url``) and the endpoint of a webhook
    action's URL is found whatever its spelling, a trailing slash
    included."""

    _inherit = "integration.webhook.endpoint"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("url"):
                vals["url"] = endpoint_urls.normalize_url(vals["url"])
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("url"):
            vals = {**vals, "url": endpoint_urls.normalize_url(vals["url"])}
        return super().write(vals)

    def _for_url(self, url, name=None):
        return self._integration_endpoint_for_url(url, name)[0]

    def _integration_endpoint_for_url(self, url, name=None):
        """``(endpoint, created)``: the active endpoint of ``url`` - the one
        with that very URL, else one whose URL differs from it only in
        spelling or by a trailing slash - or a new one."""
        normalized = endpoint_urls.normalize_url(url)
        endpoint = self.search([("url", "=", normalized)], limit=1)
        if endpoint:
            return endpoint, False
        key = endpoint_urls.endpoint_key(normalized)
        host = urlsplit(normalized).hostname or normalized
        for candidate in self.search([("url", "ilike", host)], order="id"):
            if endpoint_urls.endpoint_key(candidate.url) == key:
                return candidate, False
        name = name or outbox_endpoint.name_from_url(normalized)
        return self.create({"name": name, "url": normalized}), True
