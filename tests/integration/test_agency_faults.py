"""A connector that misbehaves releases nothing extra: the hub verifies every answer.

The rogue connector (tests/rogue_connector.py) is a real process with a real hub-CA
certificate; only its behaviour is dishonest.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connectors.bpjstk.adapter import AGENCY_ID
from hub.admin import issue, register_service
from hub.client import QueryRefused
from hub.pki import generate_key, make_csr
from hub.processes import RunningProcess, start_module
from tests.rogue_connector import CATALOGUE, ROGUE_AGENCY_ID, service_id
from tests.stack import PURPOSE, Stack, employment_query, start_stack

FIELDS = ("employment_status", "monthly_wage")


async def _ask(stack: Stack, mode: str) -> tuple[object, int]:
    nik = stack.people.employed
    token, _ = stack.consent(nik, service_id(mode), FIELDS)
    before = stack.log_size()
    async with stack.client() as client:
        try:
            answer: object = await client.query(
                service_id=service_id(mode),
                subject=nik,
                purpose=PURPOSE,
                fields=FIELDS,
                consent=token,
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
    assert (answer.status.name, answer.reason) == (status, reason)
    (record,) = stack.records(before)
    assert (record.decision, record.reason, record.stage) == (
        "REFUSED",
        reason,
        {"slow": "forward", "wrong-type": "transform"}.get(mode, "verify"),
    )
    assert record.fields_released == ()
    assert b"ROGUE-SECRET" not in stack.stored_bytes()


async def test_an_answer_signed_by_another_agency_is_refused(
    stack: Stack, rogue: RunningProcess
) -> None:
    """A valid hub-CA member that is not the service's agency cannot answer for it."""
    impostor = stack.member("ID/GOV/IMPOSTOR/agency")
    process = start_module(
        "impostor",
        "tests.rogue_connector",
        ["--home", str(stack.home.root), "--member-dir", str(impostor.key_path.parent)],
    )
    try:
        rogue_files = stack.member(ROGUE_AGENCY_ID)
        register_service(
            stack.home, service_id("impersonated"), rogue_files.cert_pem, process.address, CATALOGUE
        )
        answer, before = await _ask(stack, "impersonated")
    finally:
        process.stop()
    assert isinstance(answer, QueryRefused), f"released: {answer}"
    assert (answer.status.name, answer.reason) == ("UNAVAILABLE", "AGENCY_SIGNATURE_INVALID")
    (record,) = stack.records(before)
    assert (record.decision, record.stage) == ("REFUSED", "verify")


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
        assert (answer.status.name, answer.reason) == ("INTERNAL", "INTERNAL_ERROR")
        (record,) = stack.records(before)
        assert (record.decision, record.reason, record.stage) == (
            "REFUSED",
            "INTERNAL_ERROR",
            "verify",
        )
        assert record.fields_released == ()
    finally:
        rogue_process.stop()
        stack.hub.stop()
        stack.sim.stop()
