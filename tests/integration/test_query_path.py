"""A consented query through the real hub process returns exactly what policy releases."""

from __future__ import annotations

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from connectors.population import BpjstkRecord
from jembatan.v1 import registry_pb2
from tests.stack import EMPLOYMENT_FIELDS, Stack, employment_query


def _record(stack: Stack, nik: str) -> BpjstkRecord:
    """What BPJS Ketenagakerjaan holds on the subject: what the hub must transform."""
    return stack.population.bpjstk[nik]


async def test_consented_query_releases_exactly_the_policy_fields(stack: Stack) -> None:
    nik = stack.people.recently_terminated
    record = _record(stack, nik)
    token, consent_id = stack.consent(nik)
    async with stack.client() as client:
        answer = await employment_query(client, nik, token)
    assert answer.subject_found
    assert set(answer.fields) == set(EMPLOYMENT_FIELDS)
    status = answer.fields["employment_status"]
    assert (status.value, status.treatment) == ("inactive", "raw")
    employer = answer.fields["employer"]
    assert employer.treatment == "masked"
    expected_mask = " ".join(w[0] + "*" * (len(w) - 1) for w in record.employer.split())
    assert employer.value == expected_mask
    wage = answer.fields["monthly_wage"]
    assert wage.treatment == "predicate"
    assert wage.value is (record.monthly_wage < 3_000_000)
    terminated = answer.fields["termination_date"]
    assert (terminated.value, terminated.treatment) == (True, "predicate")
    entry = stack.records(answer.log_index)[0]
    assert entry.decision == "RELEASED"
    assert entry.consent_id == consent_id
    assert dict(entry.fields_released) == {
        "employment_status": "raw",
        "employer": "masked",
        "monthly_wage": "predicate",
        "termination_date": "predicate",
    }
    assert entry.policy_version == answer.policy_version
    assert entry.subject != nik and len(entry.subject) == 64


async def test_bucketed_release_gives_the_band_not_the_wage(stack: Stack) -> None:
    nik = stack.people.employed
    record = _record(stack, nik)
    token, _ = stack.consent(nik, WAGE_BAND_SERVICE, ("monthly_wage",))
    async with stack.client() as client:
        answer = await employment_query(
            client, nik, token, ("monthly_wage",), service_id=WAGE_BAND_SERVICE
        )
    band = answer.fields["monthly_wage"]
    assert band.treatment == "bucketed"
    low, high = (int(edge) for edge in str(band.value).strip("[)").split(", "))
    assert low <= record.monthly_wage < high


async def test_subject_unknown_to_the_agency_releases_nothing(stack: Stack) -> None:
    nik = stack.people.unregistered
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        answer = await employment_query(client, nik, token)
    assert not answer.subject_found
    assert answer.fields == {}


async def test_members_discover_services_and_their_field_catalogues(stack: Stack) -> None:
    async with stack.client() as client:
        services = {s.service_id: s for s in await client.list_services()}
    employment = services[EMPLOYMENT_SERVICE]
    assert employment.agency_id == "ID/GOV/BPJSTK/wages"
    catalogue = {
        f.name: (f.type, registry_pb2.Sensitivity.Name(f.sensitivity)) for f in employment.fields
    }
    assert catalogue == {
        "employment_status": ("text", "PERSONAL"),
        "employer": ("text", "PERSONAL"),
        "monthly_wage": ("integer", "SENSITIVE"),
        "termination_date": ("date", "PERSONAL"),
    }
