"""The hub CA with real keys and certificates, and one real mTLS call through gRPC."""

from __future__ import annotations

import ipaddress
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.pki import CA_CERT_FILE, CA_KEY_FILE, CertificateAuthority, verify_issued_by
from hub.routing import connector_channel_options
from jembatan.certs import make_csr, member_dns_name, member_id_of
from jembatan.keys import (
    PkiError,
    cert_to_pem,
    fingerprint,
    generate_key,
    key_to_pem,
    load_cert_pem,
    load_key_pem,
)

MEMBER = "ID/GOV/KEMENSOS/eligibility"
OTHER = "ID/GOV/BPJSTK/wages"
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create(now=NOW)


def _issue(ca: CertificateAuthority, member_id: str = MEMBER, **kw: object) -> x509.Certificate:
    key = generate_key()
    return ca.issue(make_csr(key, member_id), member_id, now=NOW, **kw)  # type: ignore[arg-type]


E = TypeVar("E", bound=x509.ExtensionType)


def _ext(cert: x509.Certificate, cls: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(cls)


# --- the CA -----------------------------------------------------------------------------


def test_created_ca_is_a_self_signed_p256_ca(ca: CertificateAuthority) -> None:
    cert = ca.certificate
    assert isinstance(ca.key.curve, ec.SECP256R1)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Jembatan Hub CA"
    basic = _ext(cert, x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert cert.not_valid_after_utc == NOW + timedelta(days=3650)
    verify_issued_by(cert, cert, now=NOW)


def test_save_and_load_round_trip(ca: CertificateAuthority, tmp_path: Path) -> None:
    ca.save(tmp_path / "ca")
    key_mode = stat.S_IMODE((tmp_path / "ca" / CA_KEY_FILE).stat().st_mode)
    assert key_mode == 0o600
    loaded = CertificateAuthority.load(tmp_path / "ca")
    assert loaded.certificate == ca.certificate
    assert key_to_pem(loaded.key) == key_to_pem(ca.key)
    assert (tmp_path / "ca" / CA_KEY_FILE).read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_save_refuses_to_overwrite(ca: CertificateAuthority, tmp_path: Path) -> None:
    ca.save(tmp_path)
    before = (tmp_path / CA_KEY_FILE).read_bytes()
    with pytest.raises(PkiError, match="refusing to overwrite"):
        CertificateAuthority.create(now=NOW).save(tmp_path)
    assert (tmp_path / CA_KEY_FILE).read_bytes() == before


def test_save_refuses_when_only_the_certificate_exists(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    (tmp_path / CA_CERT_FILE).write_bytes(b"x")
    with pytest.raises(PkiError, match="refusing to overwrite"):
        ca.save(tmp_path)
    assert not (tmp_path / CA_KEY_FILE).exists()


def test_load_names_the_missing_file(ca: CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(PkiError, match=r"ca\.crt: file is missing"):
        CertificateAuthority.load(tmp_path)
    (tmp_path / CA_CERT_FILE).write_bytes(cert_to_pem(ca.certificate))
    with pytest.raises(PkiError, match=r"ca\.key: file is missing"):
        CertificateAuthority.load(tmp_path)


def test_load_names_the_bad_file(ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / CA_CERT_FILE).write_bytes(b"not pem")
    (tmp_path / CA_KEY_FILE).write_bytes(key_to_pem(ca.key))
    with pytest.raises(PkiError, match=r"ca\.crt: not a PEM X\.509 certificate"):
        CertificateAuthority.load(tmp_path)
    (tmp_path / CA_CERT_FILE).write_bytes(cert_to_pem(ca.certificate))
    (tmp_path / CA_KEY_FILE).write_bytes(b"garbage")
    with pytest.raises(PkiError, match=r"ca\.key: not an unencrypted PEM private key"):
        CertificateAuthority.load(tmp_path)


def test_load_refuses_a_key_of_another_ca(ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / CA_CERT_FILE).write_bytes(cert_to_pem(ca.certificate))
    (tmp_path / CA_KEY_FILE).write_bytes(key_to_pem(generate_key()))
    with pytest.raises(PkiError, match="does not belong to"):
        CertificateAuthority.load(tmp_path)


# --- issuing ----------------------------------------------------------------------------


def test_issued_certificate_has_every_extension(ca: CertificateAuthority) -> None:
    key = generate_key()
    cert = ca.issue(make_csr(key, MEMBER), MEMBER, now=NOW)

    assert cert.public_key() == key.public_key()
    assert cert.issuer == ca.certificate.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == MEMBER
    assert 0 < cert.serial_number < 2**159
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + timedelta(days=365)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)

    san = _ext(cert, x509.SubjectAlternativeName).value
    assert isinstance(san, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"jembatan://{MEMBER}"]
    # The member's own DNS name and no host: no loopback unless asked for.
    assert san.get_values_for_type(x509.DNSName) == [member_dns_name(MEMBER)]
    assert san.get_values_for_type(x509.IPAddress) == []

    basic = _ext(cert, x509.BasicConstraints)
    assert basic.critical
    assert isinstance(basic.value, x509.BasicConstraints) and basic.value.ca is False

    usage = _ext(cert, x509.KeyUsage)
    assert usage.critical
    assert isinstance(usage.value, x509.KeyUsage)
    assert usage.value.digital_signature and usage.value.key_agreement
    assert not usage.value.key_cert_sign and not usage.value.crl_sign

    eku = _ext(cert, x509.ExtendedKeyUsage).value
    assert isinstance(eku, x509.ExtendedKeyUsage)
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}

    ski = _ext(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = _ext(cert, x509.AuthorityKeyIdentifier).value
    ca_ski = _ext(ca.certificate, x509.SubjectKeyIdentifier).value
    assert isinstance(aki, x509.AuthorityKeyIdentifier)
    assert isinstance(ca_ski, x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ca_ski.digest

    verify_issued_by(cert, ca.certificate, now=NOW)


def test_serials_differ(ca: CertificateAuthority) -> None:
    assert _issue(ca).serial_number != _issue(ca).serial_number


def test_dns_names_and_ips_are_the_callers(ca: CertificateAuthority) -> None:
    cert = _issue(ca, dns_names=("hub.example", "hub"), ip_addresses=("10.0.0.1", "::1"))
    san = _ext(cert, x509.SubjectAlternativeName).value
    assert isinstance(san, x509.SubjectAlternativeName)
    assert san.get_values_for_type(x509.DNSName) == [member_dns_name(MEMBER), "hub.example", "hub"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


@pytest.mark.parametrize(
    "dns",
    [
        "x.member.jembatan.internal",
        "*.member.jembatan.internal",
        "*.jembatan.internal",
        "JEMBATAN.Internal.",
        member_dns_name(OTHER),
        member_dns_name(OTHER).upper() + ".",
    ],
)
def test_extra_dns_names_may_not_claim_the_member_domain(
    ca: CertificateAuthority, dns: str
) -> None:
    """Only member_dns_name puts names there: another would let this certificate pass
    for another member's connector (a wildcard for all of them)."""
    with pytest.raises(PkiError, match=r"lies under jembatan\.internal"):
        _issue(ca, dns_names=(dns,))


# --- member DNS names -------------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def test_member_dns_name_is_pinned() -> None:
    """Issued certificates carry it and the hub dials by it: changing the mapping would
    cut the hub off from every connector whose certificate has the old name."""
    assert member_dns_name(OTHER) == (
        "6qdtx6hd7dbiyphyqqa6spvi4xmvdifn2atsnhseakej6vej5gza.member.jembatan.internal"
    )


@pytest.mark.parametrize(
    "member_id",
    [
        MEMBER,
        "ID/GOV/BPJSTK/Wages",  # differs from OTHER only in case, which DNS ignores
        "ID/GOV/bpjstk/wages",
        "ID/GOV/BPJSTK/wages.v2",  # a dot would split a label
        "ID/GOV/BPJSTK/wages_v2",  # an underscore is no host-name character
        "-/GOV/BPJSTK/wages-",  # a label may not start or end with a hyphen
        "ID-2/COM/" + "A" * 64 + "/" + "z" * 64,  # longer than a label may be
    ],
)
def test_member_dns_name_is_a_host_name_of_its_own(member_id: str) -> None:
    name = member_dns_name(member_id)
    labels = name.split(".")
    assert len(name) <= 253
    assert all(_LABEL.fullmatch(label) for label in labels), name
    assert name.endswith(".member.jembatan.internal")
    assert member_dns_name(member_id) == name
    assert name != member_dns_name(OTHER)
    assert name.lower() != member_dns_name(OTHER)


def test_member_dns_name_refuses_what_is_no_member_id() -> None:
    with pytest.raises(PkiError, match="not a member id"):
        member_dns_name("ID/GOV/BPJSTK")


def test_certificate_does_not_outlive_its_ca(ca: CertificateAuthority) -> None:
    cert = _issue(ca, valid_days=100_000)
    assert cert.not_valid_after_utc == ca.certificate.not_valid_after_utc


def test_member_id_of(ca: CertificateAuthority) -> None:
    assert member_id_of(_issue(ca)) == MEMBER
    assert member_id_of(_issue(ca, OTHER)) == OTHER


def _self_signed(san: list[x509.GeneralName] | None) -> x509.Certificate:
    key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MEMBER)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(
    ("san", "message"),
    [
        (None, "no subjectAltName"),
        ([x509.DNSName("localhost")], "no jembatan:// SAN URI"),
        (
            [
                x509.UniformResourceIdentifier(f"jembatan://{MEMBER}"),
                x509.UniformResourceIdentifier(f"jembatan://{OTHER}"),
            ],
            "names 2 members",
        ),
        ([x509.UniformResourceIdentifier("jembatan://kemensos")], "is not a member id"),
    ],
)
def test_member_id_of_refuses(san: list[x509.GeneralName] | None, message: str) -> None:
    with pytest.raises(PkiError, match=message):
        member_id_of(_self_signed(san))


def test_verify_refuses_a_certificate_of_another_ca(ca: CertificateAuthority) -> None:
    other = CertificateAuthority.create(common_name="Another CA", now=NOW)
    with pytest.raises(PkiError, match="not issued by this CA"):
        verify_issued_by(_issue(other), ca.certificate, now=NOW)


def test_verify_refuses_another_ca_with_the_same_name(ca: CertificateAuthority) -> None:
    # Same subject name, different key: only the signature can tell them apart.
    impostor = CertificateAuthority.create(now=NOW)
    with pytest.raises(PkiError, match="signature does not verify"):
        verify_issued_by(_issue(impostor), ca.certificate, now=NOW)


def test_verify_refuses_an_expired_certificate(ca: CertificateAuthority) -> None:
    cert = _issue(ca, valid_days=30)
    verify_issued_by(cert, ca.certificate, now=NOW + timedelta(days=29))
    with pytest.raises(PkiError, match="certificate expired at"):
        verify_issued_by(cert, ca.certificate, now=NOW + timedelta(days=31))


def test_verify_refuses_a_certificate_not_yet_valid(ca: CertificateAuthority) -> None:
    cert = _issue(ca)
    verify_issued_by(cert, ca.certificate, now=NOW - timedelta(minutes=4))  # clock skew
    with pytest.raises(PkiError, match="not valid before"):
        verify_issued_by(cert, ca.certificate, now=NOW - timedelta(minutes=6))


def test_verify_refuses_a_leaf_as_issuer(ca: CertificateAuthority) -> None:
    leaf = _issue(ca)
    with pytest.raises(PkiError, match="is not a CA certificate"):
        verify_issued_by(_issue(ca), leaf, now=NOW)


def _csr_with(key: object, member_id: str = MEMBER) -> x509.CertificateSigningRequest:
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)]))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"jembatan://{member_id}")]
            ),
            critical=False,
        )
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (ed25519.Ed25519PrivateKey.generate(), "Ed25519PublicKey, expected ECDSA P-256"),
        (rsa.generate_private_key(65537, 2048), "RSAPublicKey, expected ECDSA P-256"),
        (ec.generate_private_key(ec.SECP384R1()), "curve secp384r1, expected P-256"),
    ],
    ids=["ed25519", "rsa", "p384"],
)
def test_issue_refuses_keys_other_than_p256(
    ca: CertificateAuthority, key: object, message: str
) -> None:
    with pytest.raises(PkiError, match=message):
        ca.issue(_csr_with(key), MEMBER, now=NOW)


@pytest.mark.parametrize(
    "bad", ["kemensos", "ID/GOV/KEMENSOS", "ID/GOV/BPJSTK/wages/employment", "ID/GOV/X/y\n"]
)
def test_issue_refuses_a_bad_member_id(ca: CertificateAuthority, bad: str) -> None:
    csr = make_csr(generate_key(), MEMBER)
    with pytest.raises(PkiError, match="not a member id"):
        ca.issue(csr, bad, now=NOW)


def test_make_csr_refuses_a_bad_member_id() -> None:
    with pytest.raises(PkiError, match="not a member id"):
        make_csr(generate_key(), "kemensos")


def test_issue_refuses_a_csr_naming_another_member(ca: CertificateAuthority) -> None:
    csr = make_csr(generate_key(), OTHER)
    with pytest.raises(PkiError, match="CSR subject CN"):
        ca.issue(csr, MEMBER, now=NOW)


def test_issue_refuses_a_csr_whose_san_names_another_member(ca: CertificateAuthority) -> None:
    key = generate_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MEMBER)]))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"jembatan://{OTHER}")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(PkiError, match="names another member"):
        ca.issue(csr, MEMBER, now=NOW)


def test_issue_refuses_a_tampered_csr(ca: CertificateAuthority) -> None:
    der = bytearray(make_csr(generate_key(), MEMBER).public_bytes(serialization.Encoding.DER))
    # Flip one bit in the CN (the member id sits inside the signed part).
    at = der.index(MEMBER.encode())
    der[at] ^= 0x01
    tampered = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(PkiError, match="CSR signature is invalid"):
        ca.issue(tampered, MEMBER, now=NOW)


def test_issue_refuses_a_bad_ip_address(ca: CertificateAuthority) -> None:
    with pytest.raises(PkiError, match="bad IP address"):
        _issue(ca, ip_addresses=("localhost",))


# --- PEM helpers ------------------------------------------------------------------------


def test_pem_round_trips_and_fingerprint(ca: CertificateAuthority) -> None:
    cert = _issue(ca)
    assert load_cert_pem(cert_to_pem(cert)) == cert
    key = generate_key()
    loaded = load_key_pem(key_to_pem(key))
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    digest = fingerprint(cert)
    assert digest == "sha256:" + cert.fingerprint(hashes.SHA256()).hex()
    assert len(digest) == len("sha256:") + 64


def test_load_pem_refuses_garbage() -> None:
    with pytest.raises(PkiError):
        load_cert_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(PkiError):
        load_key_pem(b"nope")


# --- real mTLS through gRPC -------------------------------------------------------------


def _member(ca: CertificateAuthority, member_id: str) -> tuple[bytes, bytes]:
    key = generate_key()
    cert = ca.issue(make_csr(key, member_id), member_id)  # wall clock: real TLS checks it
    return key_to_pem(key), cert_to_pem(cert)


SERVER = "ID/GOV/JEMBATAN/hub"


async def _echo_server(
    ca: CertificateAuthority, seen: list[object], server_id: str = SERVER
) -> tuple[grpc.aio.Server, int]:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        seen.append(context.auth_context().get("x509_subject_alternative_name"))
        return request

    handler = grpc.method_handlers_generic_handler(
        "t.T", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    key_pem, cert_pem = _member(ca, server_id)
    credentials = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)],
        root_certificates=cert_to_pem(ca.certificate),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    return server, port


async def _call(
    port: int,
    ca: CertificateAuthority,
    client: tuple[bytes, bytes],
    payload: bytes,
    server_id: str | None = SERVER,
) -> bytes:
    """Echo ``payload`` through the server at ``port``, which must be ``server_id``'s (as
    the hub dials a connector); ``None``: check only that it names 127.0.0.1."""
    key_pem, cert_pem = client
    credentials = grpc.ssl_channel_credentials(cert_to_pem(ca.certificate), key_pem, cert_pem)
    options = connector_channel_options(server_id) if server_id else []
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials, options) as channel:
        echo = channel.unary_unary("/t.T/Echo")
        response: bytes = await echo(payload, timeout=10)
        return response


async def test_mtls_call_carries_the_member_uri() -> None:
    ca = CertificateAuthority.create()
    seen: list[object] = []
    server, port = await _echo_server(ca, seen)
    try:
        assert await _call(port, ca, _member(ca, MEMBER), b"halo") == b"halo"
    finally:
        await server.stop(None)
    # gRPC lists every SAN entry; the member URI is the one the hub reads.
    assert seen == [[f"jembatan://{MEMBER}".encode(), member_dns_name(MEMBER).encode()]]


async def test_mtls_client_talks_only_to_the_member_it_names() -> None:
    """A server holding another member's valid certificate fails the handshake, before any
    call reaches it; and a member certificate no longer passes for a server at 127.0.0.1."""
    ca = CertificateAuthority.create()
    seen: list[object] = []
    server, port = await _echo_server(ca, seen, server_id=OTHER)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as impostor:
            await _call(port, ca, _member(ca, MEMBER), b"halo", server_id=SERVER)
        with pytest.raises(grpc.aio.AioRpcError) as by_address:
            await _call(port, ca, _member(ca, MEMBER), b"halo", server_id=None)
        assert await _call(port, ca, _member(ca, MEMBER), b"halo", server_id=OTHER) == b"halo"
    finally:
        await server.stop(None)
    assert impostor.value.code() == by_address.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(seen) == 1


async def test_mtls_refuses_a_client_of_another_ca() -> None:
    ca = CertificateAuthority.create()
    stranger = CertificateAuthority.create()
    seen: list[object] = []
    server, port = await _echo_server(ca, seen)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _call(port, ca, _member(stranger, MEMBER), b"halo")
    finally:
        await server.stop(None)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert seen == []
