"""A connector that misbehaves releases nothing extra: the hub verifies every answer.

The rogue connector (tests/rogue_connector.py) is a real process with a real hub-CA
certificate; only its behaviour is dishonest. Run with another member's certificate than
its route's agency's, it is not even asked.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import grpc
import pytest

from connectors.bpjstk.adapter import AGENCY_ID, EMPLOYMENT_SERVICE
from connectors.polri.adapter import AGENCY_ID as POLRI_ID
from connectors.simulation.pilot import simulated_agency
from hub.dev.processes import RunningProcess, start_module
from hub.provisioning import issue, register_service
from jembatan.certs import make_csr
from jembatan.client import QueryRefused
from jembatan.keys import generate_key
from tests.rogue_connector import CATALOGUE, ROGUE_AGENCY_ID, received, service_id
from tests.stack import Stack, employment_query, start_stack

FIELDS = ("employment_status", "monthly_wage")


async def _ask(stack: Stack, mode: str) -> tuple[object, int]:
    nik = stack.people.employed
    token, _ = stack.consent(nik, service_id(mode), FIELDS)
    before = stack.log_size()
    async with stack.client() as client:
        try:
            answer: object = await employment_query(
                client, nik, token, FIELDS, service_id=service_id(mode)
            )
        except QueryRefused as refusal:
            answer = refusal
    return answer, before


async def test_extra_fields_are_dropped_and_recorded(stack: Stack, rogue: RunningProcess) -> None:
    answer, before = await _ask(stack, "extra-fields")
    assert not isinstance(answer, QueryRefused), answer
    assert set(answer.fields) == set(FIELDS)  # type: ignore[attr-defined]
    assert answer.fields["monthly_wage"].value is True  # type: ignore[attr-defined]
    (record,) = stack.records(before)
    assert record.decision == "RELEASED"
    assert record.fields_dropped == ("home_address", "mother_maiden_name")
    assert b"ROGUE-SECRET" not in stack.stored_bytes()


@pytest.mark.parametrize(
    ("mode", "status", "reason"),
    [
        ("bad-signature", "UNAVAILABLE", "AGENCY_SIGNATURE_INVALID"),
        ("body-swap", "UNAVAILABLE", "AGENCY_SIGNATURE_INVALID"),
        ("wrong-request", "UNAVAILABLE", "AGENCY_RESPONSE_INVALID"),
        ("wrong-type", "UNAVAILABLE", "AGENCY_RESPONSE_INVALID"),
        ("slow", "DEADLINE_EXCEEDED", "CONNECTOR_TIMEOUT"),
    ],
)
async def test_untrustworthy_answer_releases_nothing(
    stack: Stack, rogue: RunningProcess, mode: str, status: str, reason: str
) -> None:
    answer, before = await _ask(stack, mode)
    assert isinstance(answer, QueryRefused), f"released: {answer}"
    record = stack.refused_once(before, answer, grpc.StatusCode[status], reason)
    assert record.stage == {"slow": "forward", "wrong-type": "transform"}.get(mode, "verify")
    assert record.fields_released == ()
    assert b"ROGUE-SECRET" not in stack.stored_bytes()


async def test_a_connector_with_another_members_certificate_gets_no_request(
    stack: Stack, rogue: RunningProcess, tmp_path: Path
) -> None:
    """A valid hub-CA member that is not the service's agency cannot pose as its connector:
    the hub refuses the server in the TLS handshake, so it never sees the request."""
    impostor = stack.member("ID/GOV/IMPOSTOR/agency")
    record = tmp_path / "impostor.jsonl"
    process = _start_rogue(stack, "impostor", impostor.key_path.parent, record)
    rogue_files = stack.member(ROGUE_AGENCY_ID)
    try:
        register_service(
            stack.home, service_id("impersonated"), rogue_files.cert_pem, process.address, CATALOGUE
        )
        answer, before = await _ask(stack, "impersonated")
    finally:
        register_service(
            stack.home, service_id("impersonated"), rogue_files.cert_pem, rogue.address, CATALOGUE
        )
        process.stop()
    assert isinstance(answer, QueryRefused), f"released: {answer}"
    assert (answer.status.name, answer.reason) == ("UNAVAILABLE", "CONNECTOR_UNAVAILABLE")
    (audited,) = stack.records(before)
    assert (audited.decision, audited.stage) == ("REFUSED", "forward")
    assert received(record) == []


async def test_another_agencys_certificate_at_a_services_endpoint_gets_no_nik(
    own_stack: Stack, tmp_path: Path
) -> None:
    """An honest-looking server holding Polri's certificate, at the endpoint of a BPJSTK
    service, is never sent a FetchRequest; the same server with BPJSTK's certificate is."""
    stack = own_stack
    nik = stack.people.employed
    token, _ = stack.consent(nik, EMPLOYMENT_SERVICE, FIELDS)
    bpjstk = stack.member(AGENCY_ID)
    catalogue = simulated_agency("bpjstk").service_catalogue(EMPLOYMENT_SERVICE)

    async def ask_through(member_id: str) -> tuple[object, list[dict[str, str]]]:
        record = tmp_path / f"{member_id.replace('/', '-')}.jsonl"
        files = stack.member(member_id)
        process = _start_rogue(stack, "connector", files.key_path.parent, record)
        try:
            # The route still says BPJSTK; only who answers at its endpoint changes.
            register_service(
                stack.home, EMPLOYMENT_SERVICE, bpjstk.cert_pem, process.address, catalogue
            )
            async with stack.client() as client:
                try:
                    answer: object = await employment_query(client, nik, token, FIELDS)
                except QueryRefused as refusal:
                    answer = refusal
        finally:
            process.stop()
        return answer, received(record)

    before = stack.log_size()
    refused, seen_by_polri = await ask_through(POLRI_ID)
    assert isinstance(refused, QueryRefused), f"released: {refused}"
    assert (refused.status.name, refused.reason) == ("UNAVAILABLE", "CONNECTOR_UNAVAILABLE")
    assert seen_by_polri == []
    (audited,) = stack.records(before)
    assert (audited.decision, audited.reason, audited.stage) == (
        "REFUSED",
        "CONNECTOR_UNAVAILABLE",
        "forward",
    )

    released, seen_by_bpjstk = await ask_through(AGENCY_ID)
    assert not isinstance(released, QueryRefused), released
    assert released.fields["employment_status"].value == "active"  # type: ignore[attr-defined]
    assert [(call["method"], call.get("subject")) for call in seen_by_bpjstk] == [
        ("/jembatan.v1.Connector/Fetch", None),
        ("Fetch", nik),
    ]


def _start_rogue(stack: Stack, name: str, member_dir: Path, record: Path) -> RunningProcess:
    """The rogue connector with ``member_dir``'s certificate, answering every service as
    ``impersonated`` and writing down every call it receives in ``record``."""
    return start_module(
        name,
        "tests.rogue_connector",
        [
            *("--home", str(stack.home.root), "--member-dir", str(member_dir)),
            *("--mode", "impersonated", "--record", str(record)),
        ],
    )


async def test_agency_with_two_valid_certificates_is_verified_by_kid(tmp_path: Path) -> None:
    """While a renewal overlaps, the response's kid picks which certificate verifies it."""
    stack = start_stack(tmp_path / "hub")
    try:
        issue(stack.home, make_csr(generate_key(), AGENCY_ID), AGENCY_ID)  # the renewal
        nik = stack.people.employed
        token, _ = stack.consent(nik)
        async with stack.client() as client:
            answer = await employment_query(client, nik, token)
        assert answer.fields["employment_status"].value == "active"
    finally:
        stack.hub.stop()
        stack.sim.stop()


async def test_a_fault_inside_the_hub_releases_nothing_and_is_recorded(
    tmp_path: Path,
) -> None:
    """A stage that crashes (here: a corrupted certificate in the registry) fails closed
    with INTERNAL and the exchange is still in the audit log."""
    stack = start_stack(tmp_path / "hub")
    files = stack.member(ROGUE_AGENCY_ID)
    rogue_process = start_module(
        "rogue",
        "tests.rogue_connector",
        ["--home", str(stack.home.root), "--member-dir", str(files.key_path.parent)],
    )
    try:
        register_service(
            stack.home, service_id("impersonated"), files.cert_pem, rogue_process.address, CATALOGUE
        )
        with sqlite3.connect(stack.home.database) as conn:
            conn.execute(
                "UPDATE member_certificates SET cert_pem = ? WHERE member_id = ?",
                (b"-----BEGIN CERTIFICATE-----\ngarbage\n", ROGUE_AGENCY_ID),
            )
        answer, before = await _ask(stack, "impersonated")
        assert isinstance(answer, QueryRefused), f"released: {answer}"
        record = stack.refused_once(before, answer, grpc.StatusCode.INTERNAL, "INTERNAL_ERROR")
        assert record.stage == "verify" and record.fields_released == ()
    finally:
        rogue_process.stop()
        stack.hub.stop()
        stack.sim.stop()
