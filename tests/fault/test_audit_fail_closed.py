"""If the audit record cannot be made durable, nothing is released (fail closed).

The failure is real (``Stack.audit_broken``): a trigger makes SQLite abort the hub's audit
insert, exactly as a full disk or an I/O error would, while the hub process keeps running.
"""

from __future__ import annotations

import pytest

from jembatan.client import QueryRefused
from tests.stack import Stack, employment_query


async def test_query_fails_closed_when_audit_cannot_be_written(own_stack: Stack) -> None:
    stack = own_stack
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:

        async def ask() -> object:
            return await employment_query(client, nik, token)

        await ask()  # healthy first
        size = stack.log_size()
        with stack.audit_broken():
            with pytest.raises(QueryRefused) as refused:
                await ask()
            assert (refused.value.status.name, refused.value.reason) == (
                "UNAVAILABLE",
                "AUDIT_UNAVAILABLE",
            )
            assert stack.log_size() == size  # nothing recorded, nothing released
            # Refusals need their record too: with the log down, even they fail closed.
            with pytest.raises(QueryRefused) as refused_too:
                await employment_query(client, nik, "")
            assert refused_too.value.reason == "AUDIT_UNAVAILABLE"

        answer = await ask()  # the hub recovers by itself once the log can be written
    assert answer.log_index == size  # type: ignore[attr-defined]
    assert stack.log_size() == size + 1
