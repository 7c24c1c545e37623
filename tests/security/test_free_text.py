"""Text the client chooses and the hub keeps verbatim (a query's purpose, request id and
field names, a consent request's purpose text, an administrator's reason) cannot carry a NIK
or a value into the log or the registry — however the NIK is written out — nor control
characters that forge lines in what officers read: such requests are refused, recorded
without the text, and change nothing."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from jembatan.certs import make_csr
from jembatan.client import QueryRefused
from jembatan.keys import generate_key
from jembatan.v1 import admin_pb2
from tests.disguises import CONTROL_TEXTS, NIK_DISGUISES, disguised, traces
from tests.stack import EMPLOYMENT_FIELDS, PURPOSE, Stack, employment_query

MALFORMED = (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")


@dataclass(frozen=True)
class FreeText:
    """A bad text about ``nik``, made ``how`` (a NIK disguise or a control text)."""

    how: str
    nik: str
    text: str


@pytest.fixture(params=[*NIK_DISGUISES, *CONTROL_TEXTS])
def free_text(request: pytest.FixtureRequest, stack: Stack) -> FreeText:
    """Every bad text for the entry points that take free text, a test case each: a real
    NIK of the population disguised, or control characters."""
    nik, how = stack.people.employed, request.param
    return FreeText(how, nik, CONTROL_TEXTS.get(how) or f"pemohon {disguised(nik, how)} mengungsi")


async def _refused(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(QueryRefused) as refused:
        await call
    return refused.value.status, refused.value.reason


def _assert_not_stored(stack: Stack, nik: str, text: str) -> None:
    stored = stack.stored_bytes()
    assert not [trace for trace in traces(nik, text) if trace in stored]


async def _refused_query(
    stack: Stack, purpose: str, request_id: str, fields: tuple[str, ...]
) -> None:
    """The query is refused MALFORMED_REQUEST and recorded without the offending text."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    before = stack.log_size()
    async with stack.client() as client:
        refusal = await _refused(
            employment_query(client, nik, token, fields, purpose=purpose, request_id=request_id)
        )
    assert refusal == MALFORMED
    (record,) = stack.records(before)
    assert record.request_id == "" and record.purpose == "" and record.fields_requested == ()


@pytest.mark.parametrize(
    ("purpose", "request_id", "fields"),
    [
        (PURPOSE, "3510114406770001", ("employment_status",)),
        (PURPOSE, "id with spaces", ("employment_status",)),
        ("bansos 3510114406770001", "r1", ("employment_status",)),
        ("Bansos Eligibility", "r2", ("employment_status",)),
        (PURPOSE, "r3", ("x3510114406770001",)),
        (PURPOSE, "r4", ("x3510_1144_0677_0001",)),
    ],
    ids=[
        "nik-as-request-id",
        "spaces",
        "nik-in-purpose",
        "purpose-not-a-code",
        "nik-as-field",
        "grouped-nik-as-field",
    ],
)
async def test_free_text_that_could_carry_personal_data_is_refused(
    stack: Stack, purpose: str, request_id: str, fields: tuple[str, ...]
) -> None:
    await _refused_query(stack, purpose, request_id, fields)
    assert b"3510114406770001" not in stack.stored_bytes()


@pytest.mark.parametrize("how", NIK_DISGUISES)
@pytest.mark.parametrize("where", ["purpose", "request_id"])
async def test_a_disguised_nik_in_a_query_is_refused_and_never_stored(
    stack: Stack, where: str, how: str
) -> None:
    nik = stack.people.employed
    text = disguised(nik, how)
    # Each in the shape its own check allows, so only the NIK check can refuse it.
    purpose = f"bansos-{text}" if where == "purpose" else PURPOSE
    request_id = f"r-{text}" if where == "request_id" else "r-1"
    await _refused_query(stack, purpose, request_id, ("employment_status",))
    _assert_not_stored(stack, nik, text)


async def test_a_consent_request_with_a_nik_or_control_characters_in_its_text_is_refused(
    stack: Stack, free_text: FreeText
) -> None:
    before = stack.log_size()
    async with stack.client() as client:
        refusal = await _refused(
            client.request_consent(
                subject=free_text.nik,
                purpose=PURPOSE,
                purpose_text=free_text.text,
                services={EMPLOYMENT_SERVICE: EMPLOYMENT_FIELDS},
                valid_for_s=86400,
                data_life_s=86400,
            )
        )
    assert refusal == MALFORMED
    (record,) = stack.records(before)
    assert (record.service_id, record.decision, record.reason) == (
        "jembatan.v1.ConsentRegistry/RequestConsent",
        "REFUSED",
        "MALFORMED_REQUEST",
    )
    _assert_not_stored(stack, free_text.nik, free_text.text)


async def test_an_administrators_reason_with_a_nik_or_control_characters_is_refused(
    stack: Stack, free_text: FreeText
) -> None:
    member_id = f"ID/GOV/KEMENSOS/reason-{free_text.how}"
    csr = make_csr(generate_key(), member_id).public_bytes(serialization.Encoding.PEM)
    async with stack.admin() as admin:
        submitted = await admin.submit_enrolment(csr, member_id)
        refusal = await _refused(admin.reject_enrolment(submitted.request_id, free_text.text))
        still = await admin.enrolment(submitted.request_id)
    assert refusal == MALFORMED
    # Nothing decided, nothing stored: the enrolment waits as it did.
    assert (still.state, still.reason) == (admin_pb2.REQUEST_PENDING, "")
    _assert_not_stored(stack, free_text.nik, free_text.text)


@pytest.mark.parametrize("how", ["plain", *NIK_DISGUISES[:2]])
async def test_a_nik_in_a_service_id_is_refused_and_never_stored(stack: Stack, how: str) -> None:
    """The service id is kept verbatim in the record even when it names no service: it must
    be an identifier, not a place for a NIK."""
    nik = stack.people.employed
    written = nik if how == "plain" else disguised(nik, how).replace(" ", "-")
    service = f"ID/GOV/BPJSTK/wages/x{written}"
    token, _ = stack.consent(nik)
    before = stack.log_size()
    async with stack.client() as client:
        refusal = await _refused(employment_query(client, nik, token, service_id=service))
    assert refusal == MALFORMED
    (record,) = stack.records(before)
    assert record.service_id == ""
    _assert_not_stored(stack, nik, service)


async def test_a_nik_as_a_member_id_is_never_enrolled(stack: Stack) -> None:
    nik = stack.people.employed
    member_id = f"ID/GOV/KEMENSOS/{nik}"
    csr = make_csr(generate_key(), "ID/GOV/KEMENSOS/placeholder")
    async with stack.admin() as admin:
        refusal = await _refused(
            admin.submit_enrolment(csr.public_bytes(serialization.Encoding.PEM), member_id)
        )
    assert refusal == MALFORMED, refusal
    _assert_not_stored(stack, nik, member_id)
