"""Administrative acts on a hub home: set it up, enrol members, revoke, register services.

Used by the CLI and the demo. Each act writes what it decides into the hub's registry,
which the running hub reads on every call, so an act takes effect on the next query.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.artefact import generate_consent_manager_key
from hub.audit.pseudonym import generate_pseudonym_key
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID, HubHome, write_private
from hub.pki import CertificateAuthority
from hub.store import open_store
from hub.store.base import MemberCertificate, ServiceRoute
from jembatan.audit.checkpoint import ORIGIN, verifier_key
from jembatan.catalogue import FieldSpec
from jembatan.certs import make_csr, member_id_of
from jembatan.ids import ServiceId
from jembatan.keys import (
    PkiError,
    cert_to_pem,
    generate_key,
    key_to_pem,
    load_cert_pem,
    public_key_to_pem,
    serial_text,
)


@dataclass(frozen=True)
class MemberFiles:
    member_id: str
    key_path: Path
    cert_path: Path

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()


# What clients dial the hub by on its own host (the demo, the tests, an operator's shell).
HUB_LOOPBACK_DNS = ("localhost",)
HUB_LOOPBACK_IPS = ("127.0.0.1",)


def _now_text() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def init_home(home: HubHome, *, dns_names: Sequence[str] = ()) -> None:
    """A new hub: CA, the hub's own certificate, log and pseudonym keys, empty registry.

    The hub's certificate names what clients dial it by: loopback (``localhost``,
    ``127.0.0.1``) and ``dns_names`` (e.g. its balancer and replicas in compose).
    """
    if home.ca_cert.exists():
        raise PkiError(f"{home.root} already holds a hub CA")
    home.root.mkdir(parents=True, exist_ok=True)
    home.ca_dir.mkdir(parents=True, exist_ok=True)
    CertificateAuthority.create().save(home.ca_dir)
    key = generate_key()
    cert = issue(
        home,
        make_csr(key, HUB_MEMBER_ID),
        HUB_MEMBER_ID,
        dns_names=(*HUB_LOOPBACK_DNS, *dns_names),
        ip_addresses=HUB_LOOPBACK_IPS,
    )
    write_private(home.hub_key, key_to_pem(key))
    home.hub_cert.write_bytes(cert_to_pem(cert))
    log_key = Ed25519PrivateKey.generate()
    write_private(home.log_key, key_to_pem(log_key))
    home.log_public_key.write_bytes(public_key_to_pem(log_key.public_key()))
    home.log_verifier_key.write_text(verifier_key(ORIGIN, log_key.public_key()) + "\n")
    write_private(home.pseudonym_key, generate_pseudonym_key().hex().encode())


def issue(
    home: HubHome,
    csr: x509.CertificateSigningRequest,
    member_id: str,
    *,
    valid_days: int = 365,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> x509.Certificate:
    """Sign a member's CSR with the hub CA and record the certificate in the registry.

    The certificate names the member (``hub.pki.member_dns_name``), which is all a
    connector needs: the hub dials it by that name, whatever host it serves on. Host names
    and addresses are added only when asked for (``dns_names``, ``ip_addresses``).
    """
    ca = CertificateAuthority.load(home.ca_dir)
    cert = ca.issue(
        csr,
        member_id,
        valid_days=valid_days,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        roles=roles,
    )
    registry = open_store(home)
    try:
        registry.add_member_certificate(certificate_record(cert, member_id))
    finally:
        registry.close()
    return cert


def certificate_record(
    cert: x509.Certificate, member_id: str, *, renewed_from: str | None = None
) -> MemberCertificate:
    """How the registry keeps an issued certificate (``renewed_from``: the serial of the
    certificate it renews, if it is a renewal)."""
    return MemberCertificate(
        serial=serial_text(cert),
        member_id=member_id,
        cert_pem=cert_to_pem(cert),
        not_after=cert.not_valid_after_utc.isoformat(),
        revoked_at=None,
        renewed_from=renewed_from,
    )


def enrol(
    home: HubHome, member_id: str, *, dns_names: Sequence[str] = (), roles: Sequence[str] = ()
) -> MemberFiles:
    """Key, CSR and certificate for a member, kept under the home (demo and tests).

    A real agency makes its key and CSR on its own machine (``jembatan pki csr``) and
    sends only the CSR; this shortcut is for members simulated beside the hub.
    """
    key = generate_key()
    cert = issue(home, make_csr(key, member_id), member_id, dns_names=dns_names, roles=roles)
    directory = home.member_dir(member_id)
    files = MemberFiles(member_id, directory / "key.pem", directory / "cert.pem")
    write_private(files.key_path, key_to_pem(key))
    files.cert_path.write_bytes(cert_to_pem(cert))
    return files


def revoke_certificate(home: HubHome, cert_or_serial: str, reason: str) -> list[str]:
    """Revoke by serial (hex) or certificate file, with every certificate renewed from it;
    returns the serials revoked, the named one first. Effective from the next call."""
    path = Path(cert_or_serial)
    serial = (
        serial_text(load_cert_pem(path.read_bytes()))
        if path.is_file()
        else cert_or_serial.lower().removeprefix("0x")
    )
    registry = open_store(home)
    try:
        if registry.member_certificate(serial) is None:
            raise PkiError(f"no certificate with serial {serial} in the registry")
        revoked = registry.revoke_certificate(serial, _now_text(), reason)
        if not revoked:
            raise PkiError(f"certificate {serial} is already revoked")
    finally:
        registry.close()
    return revoked


def register_service(
    home: HubHome,
    service_id: str,
    agency_cert_pem: bytes,
    endpoint: str,
    catalogue: Sequence[FieldSpec],
) -> ServiceRoute:
    """Route ``service_id`` to the agency's connector at ``endpoint``."""
    service = ServiceId.parse(service_id)
    agency_id = member_id_of(load_cert_pem(agency_cert_pem))
    if str(service.provider) != agency_id:
        raise PkiError(f"service {service_id} is not offered by {agency_id}")
    route = ServiceRoute(
        service_id=service_id,
        agency_id=agency_id,
        endpoint=endpoint,
        catalogue_json=json.dumps([asdict(spec) for spec in catalogue]),
    )
    registry = open_store(home)
    try:
        registry.put_service(route)
        # Versioned like an approved registration, so discovery names the catalogue it gives.
        registry.add_catalogue_version(service_id, route.catalogue_json, _now_text())
    finally:
        registry.close()
    return route


def init_consent_manager(home: HubHome) -> Path:
    """The consent manager's (Perlinsos portal's) key beside the hub, for the pilot and demo.

    The hub keeps only the public key; the private key stays in the portal's directory.
    """
    key = generate_consent_manager_key()
    key_path = home.member_dir(CONSENT_MANAGER_ID) / "consent.key"
    write_private(key_path, key_to_pem(key))
    home.consent_manager_public_key.write_bytes(public_key_to_pem(key.public_key()))
    return key_path
