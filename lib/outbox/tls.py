"""Mutual TLS towards receivers: a client certificate, and the authorities
that vouch for the receiver.

An endpoint may hold a client certificate and its private key (PEM), which
the receiver asks for during the TLS handshake, and a CA bundle (PEM) to
verify the receiver with instead of the usual authorities (those every
other endpoint trusts). :func:`check_client_certificate` is what saving
them checks: the key is the certificate's, the certificate is valid now;
:func:`expiry_alert_due` says when its approaching expiry is announced.

:class:`ClientTLS` is that configuration as the sender uses it; the SSL
context and the pool of connections made with it are built once per
certificate and process (:meth:`ClientTLS.manager`), not per delivery.
"""

import hashlib
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from ..messages import Refusal, _lt
from . import sender

ALERT_BEFORE = timedelta(days=14)  # a certificate's expiry is announced this early
MANAGERS = 64  # pools of distinct client certificates kept per process
MAX_PEM_BYTES = 1024 * 1024  # a certificate, a key or a CA bundle


# What a refusal names: the certificate, or the CA bundle.
_TOO_LARGE = {
    "certificate": _lt("the certificate is larger than %(limit)s bytes"),
    "CA bundle": _lt("the CA bundle is larger than %(limit)s bytes"),
}
_UNREADABLE = {
    "certificate": _lt("the certificate holds an unreadable certificate"),
    "CA bundle": _lt("the CA bundle holds an unreadable certificate"),
}
_NO_CERTIFICATE = {
    "certificate": _lt("the certificate holds no PEM certificate"),
    "CA bundle": _lt("the CA bundle holds no PEM certificate"),
}


def _certificates(pem, what):
    pem = bytes(pem or b"")
    if len(pem) > MAX_PEM_BYTES:
        raise Refusal(_TOO_LARGE[what], limit=MAX_PEM_BYTES)
    certificates = []
    marker = b"-----BEGIN CERTIFICATE-----"
    for block in pem.split(marker)[1:]:
        try:
            certificates.append(
                x509.load_pem_x509_certificate(marker + block, default_backend())
            )
        except ValueError as exc:
            raise Refusal(_UNREADABLE[what]) from exc
    if not certificates:
        raise Refusal(_NO_CERTIFICATE[what])
    return certificates


def read_certificate(pem):
    """The first certificate of ``pem``; raises ValueError when there is
    none or it cannot be read."""
    return _certificates(pem, "certificate")[0]


def check_client_certificate(cert_pem, key_pem, now):
    """Checks a client certificate (PEM, possibly followed by its chain) and
    its unencrypted private key (PEM) at ``now`` (naive UTC); returns the
    certificate's expiry (naive UTC) and subject. Raises ValueError saying
    what is wrong."""
    certificate = _certificates(cert_pem, "certificate")[0]
    try:
        key = load_pem_private_key(bytes(key_pem or b""), None, default_backend())
    except TypeError as exc:
        raise Refusal(
            _lt("the private key is encrypted; give it without a passphrase")
        ) from exc
    except ValueError as exc:
        raise Refusal(_lt("the private key is not a readable PEM key")) from exc
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(
        *spki
    ):
        raise Refusal(_lt("the private key is not the certificate's"))
    expires = certificate.not_valid_after
    if expires <= now:
        raise Refusal(
            _lt("the certificate expired on %(date)s UTC"),
            date=f"{expires:%Y-%m-%d %H:%M}",
        )
    if certificate.not_valid_before > now:
        raise Refusal(
            _lt("the certificate is valid only from %(date)s UTC"),
            date=f"{certificate.not_valid_before:%Y-%m-%d %H:%M}",
        )
    return expires, certificate.subject.rfc4514_string()


def check_ca_bundle(pem):
    """Checks a CA bundle (PEM certificates); returns how many it holds.
    Raises ValueError saying what is wrong."""
    return len(_certificates(pem, "CA bundle"))


def expiry_alert_due(expires, now, alerted_for=None):
    """Whether the expiry ``expires`` of a certificate is to be announced at
    ``now``: within ``ALERT_BEFORE``, and not announced already for that
    expiry (``alerted_for``).

    >>> from datetime import datetime
    >>> expires = datetime(2026, 3, 1)
    >>> expiry_alert_due(expires, datetime(2026, 2, 14)), expiry_alert_due(
    ...     expires, datetime(2026, 2, 16))
    (False, True)
    >>> expiry_alert_due(expires, datetime(2026, 2, 16), alerted_for=expires)
    False
    """
    return bool(expires) and expires - now <= ALERT_BEFORE and alerted_for != expires


@dataclass(frozen=True)
class ClientTLS:
    """A client certificate and key, and an optional CA bundle (PEM bytes),
    as the sender uses them."""

    certificate: bytes = field(repr=False)
    key: bytes = field(repr=False)
    ca_bundle: bytes = field(default=b"", repr=False)

    @property
    def fingerprint(self):
        """A digest of the three: what the SSL context is kept under."""
        digest = hashlib.sha256()
        for part in (self.certificate, self.key, self.ca_bundle or b""):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()

    def context(self):
        """A new client SSL context presenting the certificate, verifying
        the receiver's certificate and host name against the CA bundle, or
        the usual authorities without one."""
        try:
            return self._context()
        except (ssl.SSLError, ValueError) as exc:
            raise sender.AuthorizationFailed(
                f"the client certificate cannot be used: {exc}"
            ) from None

    def _context(self):
        if self.ca_bundle:
            context = ssl.create_default_context(cadata=self.ca_bundle.decode())
        elif sender.certifi is not None:
            context = ssl.create_default_context(cafile=sender.certifi.where())
        else:  # pragma: no cover - requests ships certifi
            context = ssl.create_default_context()
        # The ssl module loads a certificate chain from files only: they
        # live in a directory only this process's user can read, for as
        # long as loading takes.
        # urllib3 checks the host name itself, IP addresses included (for
        # which it sends no server name, which the ssl module's own check
        # requires); the certificate is still verified.
        context.check_hostname = False
        if not self.certificate:
            return context
        with tempfile.TemporaryDirectory(prefix="ig-tls-") as folder:
            paths = []
            files = (("cert.pem", self.certificate), ("key.pem", self.key))
            for name, content in files:
                path = os.path.join(folder, name)
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as file:
                    file.write(content)
                paths.append(path)
            context.load_cert_chain(*paths)
        return context

    def manager(self, allow_private, resolver):
        """The pool of SSRF-guarded connections presenting this certificate,
        made once per process (for its first ``MANAGERS`` certificates in
        use, the oldest then making room)."""
        key = (self.fingerprint, allow_private, resolver)
        with _managers_lock:
            manager = _managers.get(key)
            if manager is None:
                if len(_managers) >= MANAGERS:
                    _managers.pop(next(iter(_managers))).clear()
                manager = _managers[key] = sender._pool_manager(
                    allow_private, resolver, sender.POOL_SIZE, self.context()
                )
            return manager


_managers = {}
_managers_lock = threading.Lock()
