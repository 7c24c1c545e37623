"""What a member certificate says: which member holds it, and which roles the hub granted.

Every channel is mTLS and the member id travels in the certificate, as a SAN URI
``jembatan://ID/GOV/KEMENSOS/eligibility``, which gRPC hands to the server in
``context.auth_context()["x509_subject_alternative_name"]``. A certificate also names its
member as a DNS name, ``member_dns_name(member_id)``, and names no host unless asked to: the
hub dials a connector with that name as the channel's authority, so TLS hostname verification
itself accepts only the route's agency's certificate, whatever host the endpoint names.

The hub's CA (``hub.pki``) decides what it issues; this is what every party reads.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jembatan.ids import is_member_id
from jembatan.keys import PkiError, require_p256

__all__ = [
    "ADMINISTRATOR",
    "APPROVER",
    "AUDITOR",
    "CONSOLE",
    "MEMBER_DNS_DOMAIN",
    "MEMBER_URI_PREFIX",
    "ROLES",
    "ROLE_URI_PREFIX",
    "make_csr",
    "member_dns_name",
    "member_id_of",
    "member_uri",
    "require_member_id",
    "roles_of",
]

MEMBER_URI_PREFIX = "jembatan://"
# Every member's DNS name lies under this domain, and only the CA puts names there
# (``.internal`` is reserved for private use, ICANN 2024: it never names a public host).
MEMBER_DNS_DOMAIN = "member.jembatan.internal"
# A role the hub grants a member, carried as a further SAN URI (e.g. jembatan-role:auditor),
# so the role travels with the certificate and is revoked with it.
ROLE_URI_PREFIX = "jembatan-role:"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"
# Countersigns break-glass queries whose policy rule demands two-person approval.
APPROVER = "approver"
# Vouches for the people behind it (the officers' console): may name, per call, whom it acts for.
CONSOLE = "console"
ROLES = frozenset({AUDITOR, ADMINISTRATOR, APPROVER, CONSOLE})


def member_uri(member_id: str) -> str:
    """The SAN URI that names ``member_id`` in a certificate."""
    return MEMBER_URI_PREFIX + member_id


def member_dns_name(member_id: str) -> str:
    """The DNS name that names ``member_id`` in its certificates, and only there.

    ``<base32 SHA-256 of the member id>.member.jembatan.internal``, lower case, unpadded:
    a single 52-character label, so always a valid host name whatever the id holds. The id
    itself cannot be the name: its segments are case-sensitive (``BPJSTK/wages`` and
    ``bpjstk/Wages`` are two members, but DNS names compare without case), may hold ``.``
    and ``_``, and may be 64 characters long (a label holds at most 63). The full digest
    keeps distinct ids apart as surely as SHA-256 resists collisions; no truncation.
    """
    require_member_id(member_id)
    digest = hashlib.sha256(member_id.encode("ascii")).digest()
    label = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    return f"{label}.{MEMBER_DNS_DOMAIN}"


def make_csr(key: ec.EllipticCurvePrivateKey, member_id: str) -> x509.CertificateSigningRequest:
    """A CSR for ``member_id``: CN and SAN URI name the member, signed with ``key``."""
    require_member_id(member_id)
    require_p256(key.public_key(), "CSR key")
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)]))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(member_uri(member_id))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )


def member_id_of(cert: x509.Certificate) -> str:
    """The member named by the certificate's one ``jembatan://`` SAN URI."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise PkiError("certificate has no subjectAltName, so names no member") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    members = [u for u in uris if u.startswith(MEMBER_URI_PREFIX)]
    if not members:
        raise PkiError(f"certificate has no {MEMBER_URI_PREFIX} SAN URI")
    if len(members) > 1:
        raise PkiError(f"certificate names {len(members)} members, expected one")
    member_id = members[0].removeprefix(MEMBER_URI_PREFIX)
    if not is_member_id(member_id):
        raise PkiError(f"certificate SAN URI {members[0]!r} is not a member id")
    return member_id


def roles_of(cert: x509.Certificate) -> frozenset[str]:
    """The roles the hub granted in the certificate; unknown role names are ignored."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset()
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    return (
        frozenset(u.removeprefix(ROLE_URI_PREFIX) for u in uris if u.startswith(ROLE_URI_PREFIX))
        & ROLES
    )


def require_member_id(member_id: str) -> None:
    if not is_member_id(member_id):
        raise PkiError(f"not a member id INSTANCE/CLASS/MEMBER/SUBSYSTEM: {member_id!r}")
