import base64
import binascii
import dataclasses

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib.outbox import tls
from .constraints import translated

TLS_FIELDS = ("tls_client_cert", "tls_client_key", "tls_ca_bundle")


def _pem(value):
    """The bytes of a Binary field's value (base64), b"" when empty."""
    if not value:
        return b""
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        return b""


class IntegrationWebhookEndpoint(models.Model):
    """Mutual TLS towards an endpoint's receiver: the client certificate it
    presents, its key, and the authorities that vouch for the receiver.
    They are kept as attachments only system administrators can read;
    everyone who sees the endpoint sees when the certificate expires."""

    _inherit = "integration.webhook.endpoint"

    tls_client_cert = fields.Binary(
        string="Client Certificate (PEM)",
        attachment=True,
        groups="base.group_system",
        copy=False,
        help="Presented to the receiver when it asks for a client certificate "
        "(mutual TLS). PEM, optionally followed by its intermediate "
        "certificates. Checked on save: not expired, and matching its key.",
    )
    tls_client_key = fields.Binary(
        string="Client Key (PEM)",
        attachment=True,
        groups="base.group_system",
        copy=False,
        help="The certificate's private key, PEM, without a passphrase.",
    )
    tls_ca_bundle = fields.Binary(
        string="CA Bundle (PEM)",
        attachment=True,
        groups="base.group_system",
        copy=False,
        help="The authorities the receiver's certificate must come from. "
        "Without it, the usual public authorities are trusted.",
    )
    tls_client_cert_expires_at = fields.Datetime(
        string="Client Certificate Expires",
        compute="_compute_tls_client_cert",
        compute_sudo=True,
        store=True,
        help="An alert is posted on the endpoint 14 days before.",
    )
    tls_client_cert_subject = fields.Char(
        string="Client Certificate Subject",
        compute="_compute_tls_client_cert",
        compute_sudo=True,
        store=True,
    )
    tls_client_cert_expiring = fields.Boolean(
        compute="_compute_tls_client_cert_expiring"
    )
    tls_expiry_alerted_for = fields.Datetime(copy=False, readonly=True)

    @api.depends("tls_client_cert")
    def _compute_tls_client_cert(self):
        for endpoint in self.with_context(bin_size=False):
            try:
                certificate = tls.read_certificate(_pem(endpoint.tls_client_cert))
            except ValueError:
                endpoint.tls_client_cert_expires_at = False
                endpoint.tls_client_cert_subject = False
                continue
            endpoint.tls_client_cert_expires_at = certificate.not_valid_after
            endpoint.tls_client_cert_subject = certificate.subject.rfc4514_string()

    @api.depends("tls_client_cert_expires_at")
    def _compute_tls_client_cert_expiring(self):
        limit = fields.Datetime.now() + tls.ALERT_BEFORE
        for endpoint in self:
            expires = endpoint.tls_client_cert_expires_at
            endpoint.tls_client_cert_expiring = bool(expires) and expires <= limit

    @api.constrains(*TLS_FIELDS)
    def _check_tls(self):
        now = fields.Datetime.now()
        for endpoint in self.sudo().with_context(bin_size=False):
            cert, key = (
                _pem(endpoint.tls_client_cert),
                _pem(endpoint.tls_client_key),
            )
            try:
                if cert or key:
                    if not (cert and key):
                        raise ValueError(
                            self.env._(
                                "a client certificate needs its key, and a key "
                                "its certificate"
                            )
                        )
                    tls.check_client_certificate(cert, key, now)
                if endpoint.tls_ca_bundle:
                    tls.check_ca_bundle(_pem(endpoint.tls_ca_bundle))
            except ValueError as exc:
                raise ValidationError(
                    self.env._(
                        "The TLS settings of endpoint %(name)s are not valid: "
                        "%(error)s",
                        name=endpoint.name,
                        error=translated(self.env, exc),
                    )
                ) from exc

    def _outbox_settings(self):
        settings = super()._outbox_settings()
        endpoint = self.sudo().with_context(bin_size=False)
        cert = _pem(endpoint.tls_client_cert)
        ca_bundle = _pem(endpoint.tls_ca_bundle)
        if not (cert or ca_bundle):
            return settings
        client = tls.ClientTLS(
            certificate=cert, key=_pem(endpoint.tls_client_key), ca_bundle=ca_bundle
        )
        return dataclasses.replace(settings, tls=client)

    @api.model
    def _cron_alert_expiring_certificates(self):
        """Posts on each endpoint whose client certificate expires within 14
        days, once per certificate, so that its followers renew it in time."""
        now = fields.Datetime.now()
        endpoints = self.search(
            [("tls_client_cert_expires_at", "<=", now + tls.ALERT_BEFORE)]
        )
        for endpoint in endpoints:
            expires = endpoint.tls_client_cert_expires_at
            if not tls.expiry_alert_due(expires, now, endpoint.tls_expiry_alerted_for):
                continue
            endpoint.message_post(
                body=self.env._(
                    "The client certificate of this endpoint expires on "
                    "%(expires)s (UTC). Upload a renewed certificate and key "
                    "before then, or the receiver will refuse deliveries.",
                    expires=fields.Datetime.to_string(expires),
                ),
                subtype_xmlid="mail.mt_comment",
            )
            endpoint.tls_expiry_alerted_for = expires
