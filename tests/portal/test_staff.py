"""Staff accounts and their sign-in, over real HTTP against the real portal process: the
operator provisions them with `jembatan portal staff`; a staff member signs in with the
login id and a code sent to their phone; and the refusals one by one (a wrong code, a
citizen's session on a staff page and a staff session on a citizen's, a code of one kind at
the other's form, CSRF, an unknown login)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.sync_api import expect

from tests.portal.browser import phone
from tests.portal.conftest import RunningPortal, citizens
from tests.portal.http import Citizen, browser_session
from tests.stack import Stack


@pytest.fixture
async def visitor(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for browser in browser_session(portal):
        yield browser


def test_the_operator_adds_and_lists_staff(portal: RunningPortal) -> None:
    login = portal.add_staff("pendamping", "kemiren", "0813 1111 0001", name="Budi Santoso")
    listed = portal.jembatan("staff", "list", "--state", str(portal.state))
    assert listed.returncode == 0
    line = next(line for line in listed.stdout.splitlines() if line.startswith(login))
    assert "pendamping" in line and "kemiren" in line and "081311110001" in line
    assert "Budi Santoso" in line
    # Bad values: one line each, and nothing added.
    state = ("--state", str(portal.state))
    for args, message in (
        (("--role", "perangkat_desa", "--village", "all", "--phone", "081311110002"),
         "only a dinsos officer may be bound to all villages"),
        (("--role", "pendamping", "--village", "kemiren", "--phone", "12345"),
         "not an Indonesian mobile number"),
        (("--role", "pendamping", "--village", "kemiren", "--phone", "081311110002", "--name",
          " "), "a name of 1 to 80 printable characters"),
        (("--role", "camat", "--village", "kemiren", "--phone", "081311110002"),
         "invalid choice: 'camat'"),
    ):  # fmt: skip
        refused = portal.jembatan("staff", "add", *state, "--name", "X", *args)
        assert refused.returncode != 0
        assert message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        # One line saying what is wrong (after argparse's usage, for a bad choice).
        assert message in refused.stderr.strip().splitlines()[-1]
    after = portal.jembatan("staff", "list", *state)
    assert after.stdout.count("ptg-") == listed.stdout.count("ptg-")


async def test_a_staff_member_signs_in_with_a_code_sent_to_their_phone(
    portal: RunningPortal, visitor: Citizen
) -> None:
    phone = "081311110010"
    login = portal.add_staff("perangkat_desa", "lateng", phone, name="Agus Wibowo")
    await visitor.get("/petugas/masuk")
    # Typed in capitals with spaces, as from a note: the same login.
    sent = await visitor.post("/petugas/masuk", {"login": f" {login.upper()} "})
    assert sent.url.path == "/petugas/masuk/kode"
    (sms,) = portal.outbox(phone)
    assert sms.body.startswith("Kode masuk petugas Portal Perlinsos: ")
    signed = await visitor.post("/petugas/masuk/kode", {"code": portal.code_for(phone)})
    assert signed.url.path == "/petugas/tugas"
    text = await signed.text()
    assert "Agus Wibowo" in text and "perangkat desa" in text and "desa Lateng" in text
    assert f"staff signed in: {login}" in portal.log_text()
    # Signed out, the staff page asks to sign in again.
    await visitor.post("/keluar", {})
    assert (await visitor.get("/petugas/tugas")).url.path == "/petugas/masuk"


async def test_a_wrong_code_is_refused_and_guessing_is_stopped(
    portal: RunningPortal, visitor: Citizen
) -> None:
    phone = "081311110020"
    login = portal.add_staff("pendamping", "kemiren", phone)
    await visitor.get("/petugas/masuk")
    await visitor.post("/petugas/masuk", {"login": login})
    right = portal.code_for(phone)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        response = await visitor.post("/petugas/masuk/kode", {"code": wrong})
        assert response.status == 400
        assert "Kode salah" in await response.text()
    response = await visitor.post("/petugas/masuk/kode", {"code": right})
    assert response.status == 429
    assert (await visitor.get("/petugas/tugas")).url.path == "/petugas/masuk"


async def test_an_unknown_login_is_answered_alike_and_gets_no_sms(
    portal: RunningPortal, visitor: Citizen
) -> None:
    await visitor.get("/petugas/masuk")
    before = len(portal.outbox_all())
    unknown = await visitor.post("/petugas/masuk", {"login": "ptg-zzzzzz"})
    assert unknown.url.path == "/petugas/masuk/kode"
    assert len(portal.outbox_all()) == before
    bad = await visitor.post("/petugas/masuk", {"login": "budi"})
    assert bad.status == 400 and "ptg-" in await bad.text()


async def test_a_citizens_session_never_reaches_a_staff_page_nor_the_reverse(
    stack: Stack, portal: RunningPortal, visitor: Citizen
) -> None:
    nik, phone = citizens(stack, 41)[40]
    await visitor.sign_in(nik, phone)
    application = await visitor.apply()
    for path in ("/petugas/tugas",):
        response = await visitor.get(path)
        assert response.url.path == "/petugas/masuk", path
    async for officer in browser_session(portal):
        staff_phone = "081311110030"
        await officer.staff_sign_in(
            portal.add_staff("pendamping", "kemiren", staff_phone), staff_phone
        )
        for path in ("/beranda", "/pesan", "/daftar", f"/permohonan/{application}"):
            response = await officer.get(path)
            assert response.url.path == "/masuk", path
        # A staff session cannot post as a citizen either (the consent form of the citizen).
        refused = await officer.post(f"/permohonan/{application}/persetujuan", {"choice": "refuse"})
        assert refused.url.path == "/masuk"
    # The citizen's application is untouched.
    page = await visitor.get(f"/permohonan/{application}/persetujuan")
    assert page.status == 200 and "Apakah Anda setuju" in await page.text()


async def test_a_code_of_one_kind_does_not_answer_the_others_form(
    stack: Stack, portal: RunningPortal, visitor: Citizen
) -> None:
    # A citizen's sign-in code posted at the staff form signs no one in as staff...
    nik, phone = citizens(stack, 42)[41]
    await visitor.get("/masuk")
    await visitor.post("/masuk", {"nik": nik})
    response = await visitor.post("/petugas/masuk/kode", {"code": portal.code_for(phone)})
    assert response.status == 410
    assert (await visitor.get("/petugas/tugas")).url.path == "/petugas/masuk"
    # ... and a staff code at the citizens' form signs no one in as a citizen.
    staff_phone = "081311110040"
    login = portal.add_staff("pendamping", "lateng", staff_phone)
    await visitor.post("/petugas/masuk", {"login": login})
    response = await visitor.post("/masuk/kode", {"code": portal.code_for(staff_phone)})
    assert response.status == 410
    assert (await visitor.get("/beranda")).url.path == "/masuk"


async def test_a_staff_sign_in_without_the_forms_token_or_from_another_site_is_refused(
    portal: RunningPortal, visitor: Citizen
) -> None:
    phone = "081311110050"
    login = portal.add_staff("dinsos", "all", phone)
    await visitor.get("/petugas/masuk")
    for csrf in ("", "forged-token"):
        response = await visitor.post("/petugas/masuk", {"login": login}, csrf=csrf)
        assert response.status == 403, csrf
    cross = await visitor.post("/petugas/masuk", {"login": login}, Origin="https://evil.example")
    assert cross.status == 403
    assert portal.outbox(phone) == []


@pytest.mark.parametrize("width", [390, 1366])
def test_the_staff_sign_in_pages_in_a_browser(portal: RunningPortal, width: int) -> None:
    phone_number = f"08131111{width:04d}"
    login = portal.add_staff("pendamping", "kemiren", phone_number, name="Dewi Lestari")
    shots = width == 390
    with phone(width, 844 if shots else 768) as device:
        page = device.page
        page.goto(portal.url + "/petugas/masuk")
        expect(page.get_by_role("heading", level=1)).to_have_text("Masuk sebagai petugas")
        device.check("p1-petugas-masuk" if shots else None)
        page.get_by_label("ID petugas Anda (dari dinas sosial)").fill("budi")
        page.get_by_role("button", name="Kirim kode").click()
        expect(page.get_by_role("alert")).to_contain_text("ptg-ab3x7k")
        device.check()
        page.get_by_label("ID petugas Anda (dari dinas sosial)").fill(login)
        page.get_by_role("button", name="Kirim kode").click()
        expect(page).to_have_url(re.compile(r"/petugas/masuk/kode$"))
        device.check("p2-petugas-kode" if shots else None)
        page.get_by_label("Kode (6 angka)").fill(portal.code_for(phone_number))
        page.get_by_role("button", name="Masuk").click()
        expect(page).to_have_url(re.compile(r"/petugas/tugas$"))
        expect(page.get_by_text("Dewi Lestari")).to_be_visible()
        device.check("p3-petugas-tugas" if shots else None)
    for url in device.visited:
        assert login not in url
