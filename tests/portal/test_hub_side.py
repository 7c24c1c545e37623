"""What the portal does at the hub, read back from the hub's own store and log: it is the
consent manager and holds no role; a citizen's "yes" is a consent the hub granted to the
eligibility service for exactly what was asked, under which every agency was asked and each
exchange recorded; a citizen's "no" is a rejected request, under which nothing was asked."""

from __future__ import annotations

import time
from pathlib import Path

from hub.home import CONSENT_MANAGER_ID
from jembatan.certs import roles_of
from jembatan.keys import load_cert_pem
from tests.portal.conftest import RunningPortal, citizens, start_portal
from tests.portal.http import browser_session
from tests.stack import ELIGIBILITY_ID, Stack


def test_the_portal_is_the_consent_manager_with_no_role(stack: Stack) -> None:
    cert = stack.home.member_dir(CONSENT_MANAGER_ID) / "cert.pem"
    assert roles_of(load_cert_pem(cert.read_bytes())) == frozenset()


async def _answer(stack: Stack, portal: RunningPortal, index: int, choice: str) -> None:
    nik, phone = citizens(stack, index + 1)[index]
    async for citizen in browser_session(portal):
        await citizen.sign_in(nik, phone)
        application = await citizen.apply()
        await citizen.post(f"/permohonan/{application}/persetujuan", {"choice": choice})


async def test_a_yes_is_a_consent_the_hub_granted_and_every_agency_was_asked_under(
    stack: Stack, portal: RunningPortal
) -> None:
    before = stack.log_size()
    await _answer(stack, portal, 20, "grant")
    records = stack.records(before)
    requested = [r for r in records if r.service_id.endswith("ConsentRegistry/RequestConsent")]
    granted = [r for r in records if r.service_id.endswith("ConsentRegistry/Grant")]
    assert [r.client_id for r in requested] == [ELIGIBILITY_ID]
    assert [(r.client_id, r.decision) for r in granted] == [(CONSENT_MANAGER_ID, "RELEASED")]
    exchanges = [r for r in records if r.purpose == "bansos-eligibility"]
    assert exchanges and {r.client_id for r in exchanges} == {ELIGIBILITY_ID}
    (consent_id,) = {r.consent_id for r in exchanges}
    # One citizen throughout, as the hub's pseudonym: asked, granted, queried.
    assert {r.subject for r in [*requested, *granted, *exchanges]} == {granted[0].subject}
    with stack.registry() as registry:
        consent = registry.consent(consent_id)
    assert consent is not None and consent.status == "ACTIVE"
    assert consent.grantee == ELIGIBILITY_ID and consent.granted == consent.requested
    assert {r.service_id for r in exchanges} == set(consent.granted)
    assert all(r.decision == "RELEASED" for r in exchanges)


async def test_a_no_is_a_rejected_request_and_nothing_is_asked(
    stack: Stack, portal: RunningPortal
) -> None:
    before = stack.log_size()
    await _answer(stack, portal, 21, "refuse")
    records = stack.records(before)
    (rejected,) = [r for r in records if r.service_id.endswith("ConsentRegistry/Reject")]
    assert rejected.client_id == CONSENT_MANAGER_ID and rejected.decision == "RELEASED"
    (request,) = [r for r in records if r.service_id.endswith("ConsentRegistry/RequestConsent")]
    with stack.registry() as registry:
        (consent,) = registry.consents_of(request.subject)
    assert (consent.status, consent.rejection_reason) == ("REJECTED", "citizen-declined")
    assert not [r for r in records if r.purpose == "bansos-eligibility"]


async def test_a_request_that_lapsed_is_asked_afresh_and_the_answer_still_counts(
    stack: Stack, tmp_path: Path
) -> None:
    late = start_portal(stack, tmp_path, "--answer-within", "2")
    try:
        nik, phone = citizens(stack, 23)[22]
        before = stack.log_size()
        async for citizen in browser_session(late):
            await citizen.sign_in(nik, phone)
            application = await citizen.apply()
            time.sleep(2.5)  # the citizen left the page open past the request's time
            page = await citizen.get(f"/permohonan/{application}/persetujuan")
            assert page.status == 200
            answered = await citizen.post(
                f"/permohonan/{application}/persetujuan", {"choice": "grant"}
            )
            assert "rumus kelayakan versi" in await answered.text()
        records = stack.records(before)
        asked = [r for r in records if r.service_id.endswith("ConsentRegistry/RequestConsent")]
        assert len(asked) == 2
        assert [r.decision for r in records if r.service_id.endswith("/Grant")] == ["RELEASED"]
        assert "consent asked again" in late.log_text()
    finally:
        late.process.stop()
