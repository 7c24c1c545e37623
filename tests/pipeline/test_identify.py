"""Identify alone: the mTLS certificate names a registered, unrevoked member."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from hub.pipeline.exchange import Peer
from hub.pipeline.stages import CertificateCache, Identify
from hub.store.base import MemberCertificate
from hub.store.snapshot import RegistrySnapshot
from jembatan.certs import member_uri
from jembatan.errors import Refusal
from jembatan.keys import cert_to_pem
from tests.pipeline.fakes import (
    CA,
    CLIENT,
    CLIENT_ID,
    NOW_DT,
    OTHER_CLIENT_ID,
    FakeRegistry,
    Member,
    exchange,
    refusal,
)


def _identify(registry: FakeRegistry) -> Identify:
    # A snapshot never refreshed: identify itself must read the registry.
    return Identify(RegistrySnapshot(registry), CertificateCache())


def _public(member: Member) -> tuple[int, int]:
    numbers = member.key.public_key().public_numbers()
    return numbers.x, numbers.y


async def test_a_registered_certificate_names_the_member_and_its_key() -> None:
    identify = _identify(FakeRegistry().add(CLIENT.record()))
    x = exchange(peer=CLIENT)
    await identify(x)
    assert (x.member_id, x.certificate_serial) == (CLIENT_ID, CLIENT.serial)
    assert x.member_key is not None
    numbers = x.member_key.public_numbers()
    assert (numbers.x, numbers.y) == _public(CLIENT)


async def test_no_client_certificate_is_cert_unknown() -> None:
    identify = _identify(FakeRegistry().add(CLIENT.record()))
    assert await refusal(identify, exchange(peer=None)) == "CERT_UNKNOWN"


async def test_bytes_that_are_no_certificate_are_cert_unknown() -> None:
    identify = _identify(FakeRegistry())
    x = exchange(peer=None)
    x.peer = Peer(b"-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    assert await refusal(identify, x) == "CERT_UNKNOWN"


async def test_a_certificate_naming_no_member_is_cert_unknown() -> None:
    identify = _identify(FakeRegistry())
    x = exchange(peer=None)
    x.peer = Peer(cert_to_pem(CA.certificate))  # chains fine, but has no jembatan:// SAN
    assert await refusal(identify, x) == "CERT_UNKNOWN"


async def test_a_certificate_whose_key_is_not_ecdsa_is_cert_unknown() -> None:
    # Issued by the CA, naming the member and even registered: only its key is wrong.
    key = Ed25519PrivateKey.generate()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CLIENT_ID)]))
        .issuer_name(CA.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW_DT - datetime.timedelta(days=1))
        .not_valid_after(NOW_DT + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(member_uri(CLIENT_ID))]),
            critical=False,
        )
        .sign(CA.key, hashes.SHA256())
    )
    pem = cert_to_pem(cert)
    serial = format(cert.serial_number, "x")
    registry = FakeRegistry().add(
        MemberCertificate(serial, CLIENT_ID, pem, cert.not_valid_after_utc.isoformat(), None)
    )
    x = exchange(peer=None)
    x.peer = Peer(pem)
    assert await refusal(_identify(registry), x) == "CERT_UNKNOWN"


async def test_an_unregistered_certificate_is_cert_unknown_but_named_for_the_audit() -> None:
    identify = _identify(FakeRegistry())
    x = exchange(peer=CLIENT)
    assert await refusal(identify, x) == "CERT_UNKNOWN"
    assert (x.member_id, x.certificate_serial) == (CLIENT_ID, CLIENT.serial)
    assert x.member_key is None


async def test_a_serial_registered_for_another_member_is_cert_unknown() -> None:
    identify = _identify(FakeRegistry().add(CLIENT.record(member_id=OTHER_CLIENT_ID)))
    x = exchange(peer=CLIENT)
    assert await refusal(identify, x) == "CERT_UNKNOWN"
    assert x.member_key is None


async def test_a_revoked_certificate_is_cert_revoked() -> None:
    identify = _identify(FakeRegistry().add(CLIENT.record(revoked_at="2026-10-01T00:00:00Z")))
    x = exchange(peer=CLIENT)
    assert await refusal(identify, x) == "CERT_REVOKED"
    assert (x.member_id, x.certificate_serial) == (CLIENT_ID, CLIENT.serial)
    assert x.member_key is None


async def test_a_revocation_bites_on_the_very_next_call() -> None:
    registry = FakeRegistry().add(CLIENT.record())
    identify = _identify(registry)
    await identify(exchange(peer=CLIENT))
    registry.add(CLIENT.record(revoked_at="2026-10-31T17:59:00Z"))  # by the CLI, say
    assert await refusal(identify, exchange(peer=CLIENT)) == "CERT_REVOKED"


async def test_identify_for_other_calls_checks_the_registry_too() -> None:
    # The hub's other calls name the member first, then check it (hub.services.calls).
    registry = FakeRegistry().add(CLIENT.record())
    identify = _identify(registry)
    member = identify.member(Peer(CLIENT.cert_pem))
    await identify.check_registered(member)
    assert member.member_id == CLIENT_ID
    registry.add(CLIENT.record(revoked_at="2026-10-31T17:59:00Z"))
    with pytest.raises(Refusal) as info:
        await identify.check_registered(identify.member(Peer(CLIENT.cert_pem)))
    assert info.value.reason == "CERT_REVOKED"
