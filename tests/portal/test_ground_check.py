"""The ground check over real HTTP against the real portal and hub: a refused consent opens a
case the citizen follows (only their own); staff see and take only their village's tasks; a
task taken by one officer is theirs alone; a Dinsos officer sees the counts and takes
nothing; the visit form refuses what it cannot keep; the outcome is signed only with the
right fresh code, then revises the decision, tells the citizen, and the history verifies."""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

import examples.eligibility
from connectors.dukcapil.family import family_card
from examples.eligibility.formula import load_criteria
from jembatan.locale import WIB
from portal.ground import criteria_checked
from portal.store import open_portal_store
from tests.portal.conftest import RunningPortal, citizens, start_portal
from tests.portal.http import Citizen, browser_session
from tests.stack import Stack

CASE = re.compile(r'href="/kasus/([0-9a-f-]{36})"')


@pytest.fixture
async def citizen(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for browser in browser_session(portal):
        yield browser


async def officer(portal: RunningPortal, role: str, village: str, phone: str) -> Citizen:
    """A staff member, signed in, in a browser of their own (closed by the test)."""
    browser = Citizen(portal, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    await browser.staff_sign_in(portal.add_staff(role, village, phone), phone)
    return browser


async def refused_case(stack: Stack, citizen: Citizen, index: int) -> tuple[str, str, str]:
    """A citizen (the ``index``th) applies and refuses: (application id, case id, village)."""
    nik, phone = citizens(stack, index + 1)[index]
    card = family_card(stack.population, nik)
    assert card is not None
    await citizen.sign_in(nik, phone)
    application = await citizen.apply()
    page = await citizen.post(f"/permohonan/{application}/persetujuan", {"choice": "refuse"})
    match = CASE.search(await page.text())
    assert match, "the application page links its case"
    return application, match[1], card.village.lower()


def visit_form(outcome: str = "layak", **changes: str) -> dict[str, str]:
    today = datetime.datetime.now(WIB).date().isoformat()
    form = {"visited_on": today, "met": "head", "outcome": outcome}
    for criterion in criteria_checked(load_criteria()):
        form[f"obs_{criterion.code}"] = "no"
        form[f"note_{criterion.code}"] = ""
    form["note_car"] = "hanya sepeda motor tua"
    return {**form, **changes}


async def test_a_refused_consent_opens_a_case_only_its_citizen_can_follow(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, _village = await refused_case(stack, citizen, 50)
    page = await citizen.get(f"/kasus/{case}")
    text = await page.text()
    assert page.status == 200
    assert "Menunggu petugas" in text and "Riwayat ini utuh (terverifikasi)." in text
    assert "Pemeriksaan dibuka. Warga tidak setuju datanya diperiksa." in text
    async for other in browser_session(portal):
        nik, phone = citizens(stack, 52)[51]
        await other.sign_in(nik, phone)
        response = await other.get(f"/kasus/{case}")
        assert response.status == 404
    assert "no such case of theirs" in portal.log_text()


async def test_staff_of_another_village_neither_see_nor_take_the_task(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, village = await refused_case(stack, citizen, 53)
    elsewhere = "lateng" if village == "kemiren" else "kemiren"
    stranger = await officer(portal, "pendamping", elsewhere, "081322220001")
    queue = await stranger.get("/petugas/tugas")
    assert case not in await queue.text()
    assert (await stranger.get(f"/petugas/tugas/{case}")).status == 404
    taken = await stranger.post(f"/petugas/tugas/{case}/ambil", {})
    assert taken.status == 404
    own = await officer(portal, "perangkat_desa", village, "081322220002")
    assert case in await (await own.get("/petugas/tugas")).text()
    await own.http.close()
    await stranger.http.close()


async def test_a_task_taken_by_one_officer_is_theirs_alone(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, village = await refused_case(stack, citizen, 55)
    first = await officer(portal, "pendamping", village, "081322220011")
    second = await officer(portal, "perangkat_desa", village, "081322220012")
    await first.get(f"/petugas/tugas/{case}")
    took = await first.post(f"/petugas/tugas/{case}/ambil", {})
    assert took.status == 200 and "Tanggal kunjungan" in await took.text()
    page = await second.get(f"/petugas/tugas/{case}")
    text = await page.text()
    assert "diambil petugas lain" in text and "Ambil tugas ini" not in text
    again = await second.post(f"/petugas/tugas/{case}/ambil", {})
    assert again.status == 409 and "Petugas lain sudah mengambil" in await again.text()
    submitted = await second.post(f"/petugas/tugas/{case}/kunjungan", visit_form())
    assert submitted.status == 403
    signed = await second.post(f"/petugas/tugas/{case}/konfirmasi", {"code": "123456"})
    assert signed.status == 403
    assert portal.outbox("081322220012")[-1].body.startswith("Kode masuk")  # no code to sign
    history = await citizen.get(f"/kasus/{case}")
    text = await history.text()
    assert "Petugas (pendamping PKH) mengambil tugas ini." in text and "mengunjungi" not in text
    await first.http.close()
    await second.http.close()


async def test_a_dinsos_officer_sees_the_counts_of_each_village_and_takes_nothing(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, _village = await refused_case(stack, citizen, 57)
    dinsos = await officer(portal, "dinsos", "all", "081322220021")
    queue = await (await dinsos.get("/petugas/tugas")).text()
    assert "Desa Kemiren" in queue and "Desa Lateng" in queue and case in queue
    assert re.search(r"Menunggu petugas</dt><dd>[1-9]", queue)
    await dinsos.get(f"/petugas/tugas/{case}")
    refused = await dinsos.post(f"/petugas/tugas/{case}/ambil", {})
    assert refused.status == 403
    assert "Menunggu petugas" in await (await citizen.get(f"/kasus/{case}")).text()
    await dinsos.http.close()


async def test_the_visit_form_refuses_what_it_cannot_keep_and_csrf(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, village = await refused_case(stack, citizen, 59)
    phone = "081322220031"
    staff = await officer(portal, "pendamping", village, phone)
    await staff.get(f"/petugas/tugas/{case}")
    forged = await staff.post(f"/petugas/tugas/{case}/ambil", {}, csrf="forged")
    assert forged.status == 403
    await staff.get(f"/petugas/tugas/{case}")
    await staff.post(f"/petugas/tugas/{case}/ambil", {})
    sent_before = len(portal.outbox(phone))
    for changes in (
        {"obs_car": ""},
        {"note_car": "NIK 3510012345678901"},
        {"visited_on": "2099-01-01"},
        {"outcome": "mungkin"},
        {"met": ""},
    ):
        response = await staff.post(f"/petugas/tugas/{case}/kunjungan", visit_form(**changes))
        assert response.status == 400, changes
        assert "Periksa lagi bagian yang ditandai" in await response.text()
    cross = await staff.post(
        f"/petugas/tugas/{case}/kunjungan", visit_form(), Origin="https://evil.example"
    )
    assert cross.status == 403
    assert len(portal.outbox(phone)) == sent_before  # no code was sent for any of them
    # The same form, each mistake put right, is taken (so each refusal above was its own).
    accepted = await staff.post(f"/petugas/tugas/{case}/kunjungan", visit_form())
    assert accepted.url.path == f"/petugas/tugas/{case}/konfirmasi"
    assert len(portal.outbox(phone)) == sent_before + 1
    await staff.http.close()


async def test_the_outcome_is_signed_only_with_the_right_code_and_revises_the_decision(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    application, case, village = await refused_case(stack, citizen, 61)
    phone = "081322220041"
    staff = await officer(portal, "perangkat_desa", village, phone)
    await staff.get(f"/petugas/tugas/{case}")
    await staff.post(f"/petugas/tugas/{case}/ambil", {})
    sent = await staff.post(f"/petugas/tugas/{case}/kunjungan", visit_form("tidak_layak"))
    assert sent.url.path == f"/petugas/tugas/{case}/konfirmasi"
    right = portal.code_for(phone)
    wrong = await staff.post(
        f"/petugas/tugas/{case}/konfirmasi", {"code": f"{(int(right) + 1) % 10**6:06d}"}
    )
    assert wrong.status == 400
    assert "Menunggu" not in await (await citizen.get(f"/kasus/{case}")).text()
    assert "Hasil:" not in await (await citizen.get(f"/kasus/{case}")).text()
    signed = await staff.post(f"/petugas/tugas/{case}/konfirmasi", {"code": right})
    assert signed.url.path == f"/petugas/tugas/{case}"
    assert "tidak layak" in await signed.text()
    decision = await (await citizen.get(f"/permohonan/{application}")).text()
    assert "Keluarga Anda belum bisa menerima bansos" in decision
    assert "Diputuskan setelah verifikasi lapangan oleh perangkat desa pada" in decision
    history = await (await citizen.get(f"/kasus/{case}")).text()
    assert "Hasil: tidak layak." in history and "Riwayat ini utuh (terverifikasi)." in history
    # The code is spent: signing again changes nothing.
    again = await staff.post(f"/petugas/tugas/{case}/konfirmasi", {"code": right})
    assert again.status == 403
    verified = portal.jembatan("cases", "verify", "--state", str(portal.state), "--case", case)
    assert verified.returncode == 0, verified.stderr
    await staff.http.close()


async def test_a_borderline_decision_opens_a_needs_review_case_and_says_so(
    stack: Stack, tmp_path: Path
) -> None:
    # Criteria whose bank-balance line differs from the policy's: Himbara's answer cannot be
    # read against them, so the formula sends the applicant to review (its borderline band).
    shipped = Path(examples.eligibility.__file__).with_name("criteria.yaml").read_text()
    assert "balance_rp: 5000000" in shipped
    criteria = tmp_path / "criteria.yaml"
    criteria.write_text(shipped.replace("balance_rp: 5000000", "balance_rp: 4000000"))
    running = start_portal(stack, tmp_path, "--criteria", str(criteria))
    try:
        found = None
        for nik, phone in citizens(stack, 100)[80:100]:
            async for citizen in browser_session(running):
                await citizen.sign_in(nik, phone)
                application = await citizen.apply()
                page = await citizen.post(
                    f"/permohonan/{application}/persetujuan", {"choice": "grant"}
                )
                text = await page.text()
                if "Petugas perlu memeriksa permohonan Anda" in text:
                    found = text, nik
                    break
            if found:
                break
        assert found, "no applicant in the borderline band"
        text, nik = found
        # Told honestly: to be checked, an officer will visit, and the check to follow.
        assert "Petugas akan datang atau menghubungi Anda" in text
        match = CASE.search(text)
        assert match
        card = family_card(stack.population, nik)
        assert card is not None
        phone_number = "081322220051"
        staff = await officer(running, "pendamping", card.village.lower(), phone_number)
        queue = await (await staff.get("/petugas/tugas")).text()
        assert match[1] in queue
        assert "Pemeriksaan komputer tidak bisa memutuskan semuanya" in queue
        await staff.http.close()
        assert nik not in running.log_text()
    finally:
        running.process.stop()


async def test_a_changed_history_is_shown_as_changed(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    _application, case, _village = await refused_case(stack, citizen, 63)
    assert "Riwayat ini utuh" in await (await citizen.get(f"/kasus/{case}")).text()
    store = open_portal_store(portal.state / "portal.db")
    try:
        store._db.execute(
            "UPDATE portal_case_entries SET at = at - 86400 WHERE case_id = ? AND seq = 1",
            (case,),
        )
    finally:
        store.close()
    page = await (await citizen.get(f"/kasus/{case}")).text()
    assert "Riwayat ini utuh" not in page
    assert "Riwayat ini sudah diubah setelah ditulis" in page
    assert f"case history broken: case {case} entry 1: changed after it was written" in (
        portal.log_text()
    )
    verified = portal.jembatan("cases", "verify", "--state", str(portal.state))
    assert verified.returncode == 1
    assert f"case {case} entry 1" in verified.stderr
