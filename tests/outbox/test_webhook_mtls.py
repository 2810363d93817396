"""Mutual TLS towards a receiver, for real: a TLS receiver on 127.0.0.1 that
requires a client certificate, with a certificate authority, the
receiver's certificate and the endpoint's made here with ``cryptography``."""

import base64
import ipaddress
import os
import ssl
import tempfile
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from ..common import WebhookCase
from ..webhook_receiver import WebhookReceiver


def make_key():
    return ec.generate_private_key(ec.SECP256R1(), default_backend())


def make_certificate(name, key, issuer=None, *, ca=False, ip=None, days=30, start=-1):
    """A certificate for ``name`` and ``key``, signed by ``issuer`` (a
    ``(certificate, key)`` pair; self-signed without), valid from ``start``
    to ``days`` days from now."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = fields.Datetime.now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
    return builder.sign(
        issuer[1] if issuer else key, hashes.SHA256(), default_backend()
    )


def pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def b64(data):
    return base64.b64encode(data)


@tagged("post_install", "-at_install")
class TestMutualTLS(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ca_key = make_key()
        cls.ca = make_certificate("Test CA", ca_key, ca=True, days=365)
        server_key = make_key()
        server = make_certificate(
            "127.0.0.1", server_key, (cls.ca, ca_key), ip="127.0.0.1"
        )
        cls.client_key = make_key()
        cls.client = make_certificate("odoo-client", cls.client_key, (cls.ca, ca_key))
        cls.expired = make_certificate(
            "odoo-client", cls.client_key, (cls.ca, ca_key), start=-30, days=-1
        )
        cls.expiring = make_certificate(
            "odoo-client", cls.client_key, (cls.ca, ca_key), days=10
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=pem(cls.ca).decode())
        with tempfile.TemporaryDirectory() as folder:
            paths = [os.path.join(folder, n) for n in ("cert.pem", "key.pem")]
            for path, content in zip(
                paths, (pem(server), key_pem(server_key)), strict=True
            ):
                with open(path, "wb") as file:
                    file.write(content)
            context.load_cert_chain(*paths)
        cls.tls_receiver = WebhookReceiver(ssl_context=context).start()
        cls.addClassCleanup(cls.tls_receiver.stop)
        cls.manager = new_test_user(
            cls.env,
            login="ig_mtls_manager",
            groups="integration_gateway.group_integration_manager",
        )

    def setUp(self):
        super().setUp()
        self.tls_receiver.clear()

    def make_tls_endpoint(self, **values):
        return self.Endpoint.create(
            {
                "name": "Bank",
                "url": self.tls_receiver.url("/ok"),
                "allow_private_network": True,
                "tls_ca_bundle": b64(pem(self.ca)),
                **values,
            }
        )

    def test_delivered_with_the_certificate_refused_without(self):
        endpoint = self.make_tls_endpoint(
            tls_client_cert=b64(pem(self.client)),
            tls_client_key=b64(key_pem(self.client_key)),
        )
        without = self.make_tls_endpoint(name="Bank without certificate")
        delivered, refused = self.enqueue(endpoint), self.enqueue(without)
        self.dispatch()
        self.assertEqual(delivered.state, "delivered")
        (received,) = self.tls_receiver.wait_for(1)
        self.assertEqual(
            received.client_cert["subject"], ((("commonName", "odoo-client"),),)
        )
        self.assertEqual(refused.state, "retrying")
        self.assertFalse(refused.attempt_ids.status_code)
        self.assertTrue(refused.attempt_ids.error, refused.attempt_ids.error)
        self.assertEqual(len(self.tls_receiver.snapshot()), 1)
        # The receiver's certificate is checked against the CA bundle: with
        # the usual authorities instead, it is refused.
        # And its host name too: the certificate is for 127.0.0.1 only.
        misnamed = self.make_tls_endpoint(
            name="Bank by name",
            url=self.tls_receiver.url("/ok", host="localhost"),
            tls_client_cert=b64(pem(self.client)),
            tls_client_key=b64(key_pem(self.client_key)),
        )
        refused_by_name = self.enqueue(misnamed)
        self.dispatch()
        self.assertEqual(refused_by_name.state, "retrying")
        self.assertIn("hostname", refused_by_name.attempt_ids.error)
        self.assertEqual(len(self.tls_receiver.snapshot()), 1)
        endpoint.sudo().tls_ca_bundle = False
        other = self.enqueue(endpoint)
        self.dispatch()
        self.assertEqual(other.state, "retrying")
        self.assertIn("certificate verify failed", other.attempt_ids.error)

    def test_certificates_are_checked_on_save(self):
        cases = [
            ({"tls_client_cert": b64(pem(self.expired))}, "expired on"),
            ({"tls_client_key": b64(key_pem(make_key()))}, "not the certificate's"),
            ({"tls_client_key": False}, "needs its key"),
            ({"tls_client_key": b64(b"not a key")}, "not a readable PEM key"),
            ({"tls_ca_bundle": b64(b"nothing")}, "no PEM certificate"),
        ]
        for values, error in cases:
            with (
                self.subTest(error=error),
                self.assertRaisesRegex(ValidationError, error),
            ):
                self.make_tls_endpoint(
                    **{
                        "tls_client_cert": b64(pem(self.client)),
                        "tls_client_key": b64(key_pem(self.client_key)),
                        **values,
                    }
                )

    def test_expiry_shown_and_announced_14_days_before(self):
        endpoint = self.make_tls_endpoint(
            tls_client_cert=b64(pem(self.client)),
            tls_client_key=b64(key_pem(self.client_key)),
        )
        self.assertEqual(
            endpoint.tls_client_cert_expires_at,
            self.client.not_valid_after.replace(microsecond=0),
        )
        self.assertEqual(endpoint.tls_client_cert_subject, "CN=odoo-client")
        self.assertFalse(endpoint.tls_client_cert_expiring)
        Endpoint = self.env["integration.webhook.endpoint"]

        def alerts():
            return endpoint.message_ids.filtered(
                lambda m: "client certificate of this endpoint expires" in m.body
            )

        Endpoint._cron_alert_expiring_certificates()
        self.assertFalse(alerts())
        endpoint.tls_client_cert = b64(pem(self.expiring))
        self.assertTrue(endpoint.tls_client_cert_expiring)
        Endpoint._cron_alert_expiring_certificates()
        Endpoint._cron_alert_expiring_certificates()
        self.assertEqual(len(alerts()), 1)
        # Everyone who sees the endpoint sees the expiry; only system
        # administrators read the certificate and its key.
        as_manager = endpoint.with_user(self.manager)
        self.assertLess(
            as_manager.tls_client_cert_expires_at,
            fields.Datetime.now() + timedelta(days=11),
        )
        for name in ("tls_client_cert", "tls_client_key", "tls_ca_bundle"):
            with self.assertRaises(AccessError):
                as_manager.read([name])
        attachments = (
            self.env["ir.attachment"]
            .with_user(self.manager)
            .search(
                [
                    ("res_model", "=", endpoint._name),
                    ("res_id", "=", endpoint.id),
                    ("res_field", "=", "tls_client_key"),
                ]
            )
        )
        self.assertFalse(attachments)
