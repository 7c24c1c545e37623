"""Text the client chooses and the audit log keeps verbatim (purpose, request id, field
names) cannot carry a NIK or a value into the log: such requests are refused."""

from __future__ import annotations

import pytest

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from hub.client import QueryRefused
from tests.stack import PURPOSE, Stack


@pytest.mark.parametrize(
    ("purpose", "request_id", "fields"),
    [
        (PURPOSE, "3510114406770001", ("employment_status",)),
        (PURPOSE, "id with spaces", ("employment_status",)),
        ("bansos 3510114406770001", "r1", ("employment_status",)),
        ("Bansos Eligibility", "r2", ("employment_status",)),
        (PURPOSE, "r3", ("x3510114406770001",)),
    ],
    ids=["nik-as-request-id", "spaces", "nik-in-purpose", "purpose-not-a-code", "nik-as-field"],
)
async def test_free_text_that_could_carry_personal_data_is_refused(
    stack: Stack, purpose: str, request_id: str, fields: tuple[str, ...]
) -> None:
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    before = stack.log_size()
    async with stack.client() as client:
        with pytest.raises(QueryRefused) as refused:
            await client.query(
                service_id=EMPLOYMENT_SERVICE,
                subject=nik,
                purpose=purpose,
                fields=fields,
                consent=token,
                request_id=request_id,
            )
    assert (refused.value.status.name, refused.value.reason) == (
        "INVALID_ARGUMENT",
        "MALFORMED_REQUEST",
    )
    (record,) = stack.records(before)
    # The refusal is recorded, but without the offending text.
    assert record.request_id == "" and record.purpose == "" and record.fields_requested == ()
    assert b"3510114406770001" not in stack.stored_bytes()
