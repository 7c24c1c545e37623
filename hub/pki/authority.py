"""The hub's certificate authority: member certificates from CSRs, and checking them.

All keys are ECDSA P-256 because gRPC's TLS (BoringSSL) refuses Ed25519 certificates. The X.509
work is ``cryptography``'s; this module only decides what goes into a certificate and what a CSR
may ask for. What a certificate says once issued (member id, roles) is read by ``jembatan.certs``.

Datetimes are UTC; a naive ``now`` is read as UTC, as ``cryptography`` itself does.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jembatan.certs import (
    MEMBER_URI_PREFIX,
    ROLE_URI_PREFIX,
    ROLES,
    member_dns_name,
    member_uri,
    require_member_id,
)
from jembatan.keys import (
    PkiError,
    cert_to_pem,
    generate_key,
    key_to_pem,
    load_cert_pem,
    load_key_pem,
    require_p256,
)

_RESERVED_DNS_DOMAIN = "jembatan.internal"
CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
# Certificates start this long before "now", so a peer whose clock runs a little behind the
# hub's does not reject a certificate issued a moment ago.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CertificateAuthority:
    """The hub CA: a self-signed P-256 certificate and its key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(
        cls,
        *,
        common_name: str = "Jembatan Hub CA",
        valid_days: int = 3650,
        now: datetime | None = None,
    ) -> CertificateAuthority:
        if valid_days <= 0:
            raise PkiError(f"CA validity must be at least one day, got {valid_days}")
        now = _utc(now)
        key = generate_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public_key = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + timedelta(days=valid_days))
            # path_length=0: the hub CA signs members only, never another CA.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(certificate=certificate, key=key)

    def save(self, directory: Path) -> None:
        """Write ``ca.crt`` and ``ca.key`` (PKCS8, mode 0600); never overwrite either."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        # Check both first so a refusal leaves the directory as it was: replacing a CA's key
        # would orphan every certificate it issued.
        for path in (cert_path, key_path):
            if path.exists():
                raise PkiError(f"refusing to overwrite existing {path}")
        _write_new(key_path, key_to_pem(self.key), mode=0o600)
        _write_new(cert_path, cert_to_pem(self.certificate), mode=0o644)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        try:
            certificate = load_cert_pem(_read(cert_path))
        except PkiError as exc:
            raise PkiError(f"{cert_path}: {exc}") from None
        try:
            key = load_key_pem(_read(key_path))
        except PkiError as exc:
            raise PkiError(f"{key_path}: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{key_path}: not an EC private key")
        require_p256(key.public_key(), str(key_path))
        if key.public_key() != certificate.public_key():
            raise PkiError(f"{key_path} does not belong to {cert_path}")
        if not _is_ca(certificate):
            raise PkiError(f"{cert_path} is not a CA certificate")
        return cls(certificate=certificate, key=key)

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        member_id: str,
        *,
        valid_days: int = 365,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        now: datetime | None = None,
        roles: Sequence[str] = (),
    ) -> x509.Certificate:
        """A member certificate for the key in ``csr``, naming ``member_id``.

        Only the CSR's key is taken from it; every name in the certificate is the hub's
        choice. The CSR may still not ask for another member's name, since that is a sign
        of a mix-up or an attempt to impersonate, which an operator should see.

        The certificate names the member (SAN URI and ``member_dns_name``) and, beyond
        that, only the hosts in ``dns_names`` and ``ip_addresses`` — none by default, so a
        member's certificate does not pass for a server at any host (loopback included)
        unless the operator asked for it. No extra name may lie under the reserved domain:
        it would let this certificate pass for another member's connector.
        """
        check_csr(csr, member_id)
        for dns in dns_names:
            _require_unreserved_dns_name(dns)
        if valid_days <= 0:
            raise PkiError(f"certificate validity must be at least one day, got {valid_days}")
        try:
            ips = [ipaddress.ip_address(ip) for ip in ip_addresses]
        except ValueError as exc:
            raise PkiError(f"bad IP address for certificate: {exc}") from exc

        now = _utc(now)
        # A certificate that outlives its CA would fail validation anyway; end it with the CA.
        not_after = min(now + timedelta(days=valid_days), self.certificate.not_valid_after_utc)
        public_key = csr.public_key()
        unknown = sorted(set(roles) - ROLES)
        if unknown:
            raise PkiError(f"unknown role(s) {unknown} (known: {sorted(ROLES)})")
        names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(member_uri(member_id))]
        names += [x509.UniformResourceIdentifier(ROLE_URI_PREFIX + role) for role in roles]
        names.append(x509.DNSName(member_dns_name(member_id)))
        names += [x509.DNSName(dns) for dns in dns_names]
        names += [x509.IPAddress(ip) for ip in ips]
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)]))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            # 159 random bits: unpredictable (RFC 5280 §4.1.2.2, CA/B BR 7.1) and positive.
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    # ECDHE-ECDSA needs only digitalSignature; keyAgreement lets the same
                    # key serve static ECDH suites should a peer insist on them.
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            # Both: the same certificate identifies a member calling the hub and the
            # member's connector when the hub calls it.
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(self._authority_key_identifier(), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def check_csr(csr: x509.CertificateSigningRequest, member_id: str) -> None:
    """Raise ``PkiError`` unless ``csr`` is self-signed with a P-256 key and names, if
    anyone, ``member_id``: what ``issue`` requires, checked before a CSR is even queued."""
    if not csr.is_signature_valid:
        raise PkiError("CSR signature is invalid")
    require_p256(csr.public_key(), "CSR key")
    require_member_id(member_id)
    _require_csr_names_only(csr, member_id)


def load_csr_pem(data: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_pem_x509_csr(data)
    except ValueError:
        raise PkiError("not a PEM PKCS#10 certificate signing request") from None


def verify_issued_by(
    cert: x509.Certificate, ca: x509.Certificate, *, now: datetime | None = None
) -> None:
    """Raise ``PkiError`` unless ``ca`` signed ``cert`` and both are valid at ``now``."""
    if not _is_ca(ca):
        raise PkiError(f"issuer {ca.subject.rfc4514_string()!r} is not a CA certificate")
    try:
        cert.verify_directly_issued_by(ca)
    except InvalidSignature:
        raise PkiError("certificate signature does not verify with the CA key") from None
    except (ValueError, TypeError) as exc:
        raise PkiError(f"certificate not issued by this CA: {exc}") from None
    now = _utc(now)
    for which, c in (("certificate", cert), ("CA certificate", ca)):
        if now < c.not_valid_before_utc:
            raise PkiError(f"{which} not valid before {c.not_valid_before_utc.isoformat()}")
        if now > c.not_valid_after_utc:
            raise PkiError(f"{which} expired at {c.not_valid_after_utc.isoformat()}")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _require_unreserved_dns_name(dns: str) -> None:
    # Compared the way TLS compares host names: without case or a final dot, and a
    # wildcard's base too (``*.member.jembatan.internal`` would match every member).
    name = dns.lower().rstrip(".").removeprefix("*.")
    if name == _RESERVED_DNS_DOMAIN or name.endswith("." + _RESERVED_DNS_DOMAIN):
        raise PkiError(
            f"DNS name {dns!r} lies under {_RESERVED_DNS_DOMAIN}, where only member names"
            " (member_dns_name) go"
        )


def _require_csr_names_only(csr: x509.CertificateSigningRequest, member_id: str) -> None:
    for attribute in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        if attribute.value != member_id:
            raise PkiError(f"CSR subject CN {attribute.value!r} is not {member_id!r}")
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(MEMBER_URI_PREFIX) and uri != member_uri(member_id):
            raise PkiError(f"CSR SAN URI {uri!r} names another member than {member_id!r}")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PkiError("file is missing") from None
    except OSError as exc:
        raise PkiError(f"cannot read: {exc.strerror}") from None


def _write_new(path: Path, data: bytes, *, mode: int) -> None:
    # O_EXCL makes "refuse to overwrite" atomic, and the key file is created with its final
    # mode, so it is never readable by others, not even for a moment.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise PkiError(f"refusing to overwrite existing {path}") from None
    with os.fdopen(fd, "wb") as file:
        os.fchmod(fd, mode)  # the umask may have narrowed the mode; set it exactly
        file.write(data)
