"""Authorize alone: the policy releases every requested field (deny by default), and the
query rests on what the rule rests on — consent, or the rule's own law."""

from __future__ import annotations

import pytest

from hub.pipeline.exchange import Exchange
from hub.pipeline.stages import Authorize
from jembatan.errors import Refusal
from jembatan.v1 import exchange_pb2
from policies import PolicySet
from tests.pipeline.fakes import (
    BREAK_GLASS_PURPOSE,
    CLIENT_ID,
    FIELDS,
    OTHER_CLIENT_ID,
    exchange,
    legal_basis,
    policy_set,
    query_body,
    refusal,
)

POLICIES = policy_set()


def _authorize(policies: PolicySet = POLICIES) -> Authorize:
    return Authorize(lambda: policies)


def _query(
    basis: exchange_pb2.LegalBasis | None = None, member_id: str = CLIENT_ID, **body: object
) -> Exchange:
    return exchange(body=query_body(**body), member_id=member_id, legal_basis=basis)


async def test_a_rule_releasing_every_field_passes() -> None:
    x = _query()
    await _authorize()(x)
    assert x.decision is not None
    assert list(x.decision.releases) == list(FIELDS)
    assert x.policy_version == "sha256:test"


async def test_a_break_glass_query_naming_the_rules_law_passes() -> None:
    x = _query(legal_basis(), purpose=BREAK_GLASS_PURPOSE, fields=["employment_status"])
    await _authorize()(x)
    assert x.decision is not None and x.decision.two_person_approval


async def test_no_rule_for_client_purpose_and_service_is_no_policy() -> None:
    x = _query(purpose="research-statistics")
    assert await refusal(_authorize(), x) == "NO_POLICY"
    # Decided all the same, for the audit record.
    assert x.decision is not None and x.policy_version == "sha256:test"


async def test_the_rule_is_looked_up_for_the_identified_member() -> None:
    # The body says the eligibility service; the certificate said another member.
    x = _query(member_id=OTHER_CLIENT_ID)
    assert await refusal(_authorize(), x) == "NO_POLICY"


async def test_a_field_the_rule_does_not_list_is_field_not_allowed() -> None:
    x = _query(fields=[*FIELDS, "nik", "death_date"])
    assert await refusal(_authorize(), x) == "FIELD_NOT_ALLOWED"
    # Named in words, as a person reads them, not as a Python list.
    with pytest.raises(Refusal) as refused:
        await _authorize()(_query(fields=[*FIELDS, "nik", "death_date"]))
    assert refused.value.detail == "the policy does not release fields death_date, nik"


async def test_a_legal_basis_for_a_consent_rule_is_consent_missing() -> None:
    x = _query(legal_basis())
    assert await refusal(_authorize(), x) == "CONSENT_MISSING"


async def test_a_break_glass_rule_without_a_legal_basis_is_legal_basis_required() -> None:
    x = _query(purpose=BREAK_GLASS_PURPOSE, fields=["employment_status"])
    assert await refusal(_authorize(), x) == "LEGAL_BASIS_REQUIRED"


async def test_another_law_than_the_rules_is_legal_basis_mismatch() -> None:
    x = _query(
        legal_basis(reference="UU 11/2009 tentang Kesejahteraan Sosial"),
        purpose=BREAK_GLASS_PURPOSE,
        fields=["employment_status"],
    )
    assert await refusal(_authorize(), x) == "LEGAL_BASIS_MISMATCH"


async def test_a_reloaded_policy_set_decides_the_next_query() -> None:
    current = [POLICIES]
    authorize = Authorize(lambda: current[0])
    await authorize(_query())
    current[0] = PolicySet([], "sha256:empty")  # every rule withdrawn
    x = _query()
    assert await refusal(authorize, x) == "NO_POLICY"
    assert x.policy_version == "sha256:empty"
