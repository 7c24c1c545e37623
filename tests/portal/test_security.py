"""The portal's refusals, one by one, over real HTTP against the real process: another
citizen's application id in a URL or a form; OTP guessing; too many codes; an expired code;
an expired session; a POST without the form token, with another's, or from another site;
the cookies' flags; no NIK in a URL or a log line."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from portal.store import open_portal_store
from tests.portal.conftest import RunningPortal, citizens, start_portal
from tests.portal.http import Citizen, browser_session
from tests.stack import Stack


@pytest.fixture
async def alice(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for citizen in browser_session(portal):
        yield citizen


@pytest.fixture
async def bob(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for citizen in browser_session(portal):
        yield citizen


async def test_another_citizens_application_is_not_found_in_urls_or_forms(
    stack: Stack, portal: RunningPortal, alice: Citizen, bob: Citizen
) -> None:
    (alice_nik, alice_phone), (bob_nik, bob_phone) = citizens(stack, 4)[2:4]
    await alice.sign_in(alice_nik, alice_phone)
    application = await alice.apply()
    await bob.sign_in(bob_nik, bob_phone)
    for path in (f"/permohonan/{application}", f"/permohonan/{application}/persetujuan"):
        response = await bob.get(path)
        assert response.status == 404, path
        assert "bukan milik Anda" in await response.text()
    await bob.get("/beranda")
    refused = await bob.post(f"/permohonan/{application}/persetujuan", {"choice": "refuse"})
    assert refused.status == 404
    assert "no such application of theirs" in portal.log_text()
    # Alice's application is untouched: still waiting for her own answer.
    page = await alice.get(f"/permohonan/{application}/persetujuan")
    assert page.status == 200 and "Apakah Anda setuju" in await page.text()
    # Signed out, nobody's application is anything but the sign-in page.
    async for stranger in browser_session(portal):
        response = await stranger.get(f"/permohonan/{application}")
        assert response.url.path == "/masuk"


async def test_guessing_the_code_is_stopped_after_five_tries(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    nik, phone = citizens(stack, 5)[4]
    await alice.get("/masuk")
    await alice.post("/masuk", {"nik": nik})
    right = portal.code_for(phone)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        response = await alice.post("/masuk/kode", {"code": wrong})
        assert response.status == 400
        assert "Kode salah" in await response.text()
    # The sixth try is refused even with the right code: the code is spent.
    response = await alice.post("/masuk/kode", {"code": right})
    assert response.status == 429
    assert "Terlalu sering salah" in await response.text()
    assert (await alice.get("/beranda")).url.path == "/masuk"


async def test_at_most_three_codes_per_nik_in_fifteen_minutes(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    nik, phone = citizens(stack, 6)[5]
    await alice.get("/masuk")
    for _ in range(3):
        assert (await alice.post("/masuk", {"nik": nik})).url.path == "/masuk/kode"
    response = await alice.post("/masuk", {"nik": nik})
    assert response.status == 429
    assert "Terlalu banyak kode" in await response.text()
    assert len(portal.outbox(phone)) == 3


async def test_a_nik_unknown_to_the_registry_is_answered_alike_and_gets_no_sms(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    from connectors.population import unknown_nik

    await alice.get("/masuk")
    response = await alice.post("/masuk", {"nik": unknown_nik(stack.population)})
    assert response.url.path == "/masuk/kode"
    bad = await alice.post("/masuk", {"nik": "1234"})
    assert bad.status == 400 and "16 angka" in await bad.text()


async def test_a_post_without_the_forms_token_or_from_another_site_is_refused(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    nik, phone = citizens(stack, 7)[6]
    await alice.get("/masuk")
    for csrf in ("", "forged-token"):
        response = await alice.post("/masuk", {"nik": nik}, csrf=csrf)
        assert response.status == 403, csrf
    cross = await alice.post("/masuk", {"nik": nik}, Origin="https://evil.example")
    assert cross.status == 403
    assert portal.outbox(phone) == []  # none of them sent a code
    await alice.sign_in(nik, phone)
    await alice.get("/beranda")
    response = await alice.post("/daftar", {}, csrf="forged-token")
    assert response.status == 403
    assert "Halaman ini sudah kedaluwarsa" in await response.text()


async def test_cookies_are_httponly_and_samesite_strict(portal: RunningPortal) -> None:
    async with aiohttp.ClientSession() as http:
        response = await http.get(portal.url + "/")
        cookie = response.cookies["perlinsos_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        assert not cookie["secure"]  # plain HTTP here; --secure-cookies behind HTTPS
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_a_code_expires(stack: Stack, tmp_path: Path) -> None:
    short = start_portal(stack, tmp_path, "--code-ttl", "1")
    try:
        nik, phone = citizens(stack, 8)[7]
        async for citizen in browser_session(short):
            await citizen.get("/masuk")
            await citizen.post("/masuk", {"nik": nik})
            code = short.code_for(phone)
            time.sleep(1.5)
            late = await citizen.post("/masuk/kode", {"code": code})
            assert late.status == 410
            assert "sudah tidak berlaku" in await late.text()
            assert (await citizen.get("/beranda")).url.path == "/masuk"
    finally:
        short.process.stop()


async def test_a_session_expires_after_it_was_last_used(stack: Stack, tmp_path: Path) -> None:
    short = start_portal(stack, tmp_path, "--session-ttl", "3")
    try:
        nik, phone = citizens(stack, 9)[8]
        async for citizen in browser_session(short):
            await citizen.sign_in(nik, phone)
            time.sleep(1.5)
            # Used within its life, it lives on from there...
            assert (await citizen.get("/beranda")).url.path == "/beranda"
            time.sleep(2)
            assert (await citizen.get("/beranda")).url.path == "/beranda"
            # ... and unused for longer, it is gone.
            time.sleep(3.5)
            assert (await citizen.get("/beranda")).url.path == "/masuk"
    finally:
        short.process.stop()


async def test_no_nik_in_the_portals_log(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    # Even one typed into the address bar, as a path or a query.
    nik, _ = citizens(stack, 1)[0]
    for path in (f"/permohonan/{nik}", f"/?nik={nik}", f"/{nik[:8]}-{nik[8:]}"):
        await alice.get(path)
    deadline = time.monotonic() + 5
    # The access line is written once the answer is sent: wait for the last one.
    while portal.log_text().count("[may hold a NIK]") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    log = portal.log_text()
    assert log.count("[may hold a NIK]") == 3
    assert "sign-in code requested" in log
    for household in stack.population.households:
        for person in household.members:
            assert person.nik not in log


async def test_a_decision_cut_off_midway_goes_to_a_ground_check(
    stack: Stack, portal: RunningPortal, alice: Citizen
) -> None:
    nik, phone = citizens(stack, 27)[26]
    await alice.sign_in(nik, phone)
    application = await alice.apply()
    # As a portal that stopped between granting and deciding leaves it, minutes ago.
    store = open_portal_store(portal.state / "portal.db")
    try:
        assert store.move_application(
            application, was="consent_pending", status="deciding", now=int(time.time()) - 300
        )
    finally:
        store.close()
    page = await alice.get(f"/permohonan/{application}")
    text = await page.text()
    assert "Petugas akan datang ke rumah Anda" in text
    assert 'href="/kasus/' in text  # and a case opened for the officer
    inbox = await alice.get("/pesan")
    assert "Petugas akan datang ke rumah Anda untuk memeriksa" in await inbox.text()
