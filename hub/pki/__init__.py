"""The hub's PKI: the certificate authority that issues member certificates from CSRs.

Reading a certificate (its member, its roles) and keys as files belong to the kernel
(``jembatan.certs``, ``jembatan.keys``): every member needs those, only the hub issues.
"""

from hub.pki.authority import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CLOCK_SKEW,
    CertificateAuthority,
    check_csr,
    load_csr_pem,
    verify_issued_by,
)

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CLOCK_SKEW",
    "CertificateAuthority",
    "check_csr",
    "load_csr_pem",
    "verify_issued_by",
]
