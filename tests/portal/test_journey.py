"""A citizen of the test villages, on a phone: signs in with NIK and SMS code, applies for
the household on their family card, reads the consent screen built from the hub's
discovery and policies, agrees, and reads the decision made through the hub; another
refuses and is told an officer will visit. Every page in Indonesian at 390x844, axe-core on
each, and no NIK in any URL the browser visited or any line the portal logged."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from connectors.dukcapil.family import family_card
from tests.portal.browser import Phone, phone
from tests.portal.conftest import RunningPortal, citizens
from tests.stack import Stack


def sign_in(device: Phone, portal: RunningPortal, nik: str, phone_number: str, shots: bool) -> None:
    page = device.page
    page.goto(portal.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Daftar bantuan sosial (bansos)")
    device.check("1-mulai" if shots else None)
    page.get_by_role("link", name="Mulai").click()
    expect(page).to_have_url(re.compile(r"/masuk$"))
    device.check("2-nik" if shots else None)
    page.get_by_label("NIK (16 angka, ada di KTP)").fill(nik)
    page.get_by_role("button", name="Kirim kode").click()
    expect(page).to_have_url(re.compile(r"/masuk/kode$"))
    device.check("3-kode" if shots else None)
    page.get_by_label("Kode (6 angka)").fill(portal.code_for(phone_number))
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/beranda$"))


@pytest.mark.parametrize("width", [390, 1366])
def test_a_citizen_applies_consents_and_reads_the_decision(
    stack: Stack, portal: RunningPortal, width: int
) -> None:
    # Their own citizens per width; screenshots of the phone's pages only.
    first = 0 if width == 390 else 10
    (nik, phone_number), (other_nik, other_phone) = citizens(stack, first + 2)[first:]
    card = family_card(stack.population, nik)
    assert card is not None
    shots = width == 390

    def check(name: str) -> None:
        device.check(name if shots else None)

    with phone(width, 844 if width == 390 else 768) as device:
        page = device.page
        sign_in(device, portal, nik, phone_number, shots=shots)
        expect(page.get_by_role("heading", level=1)).to_have_text("Halaman saya")
        check("4-beranda")
        page.get_by_role("link", name="Daftarkan keluarga saya").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Apakah ini keluarga Anda?")
        for member in card.members:
            expect(page.get_by_text(member.name, exact=True)).to_be_visible()
        check("5-keluarga")
        page.get_by_role("button", name="Ya, daftarkan keluarga saya").click()

        expect(page).to_have_url(re.compile(r"/permohonan/[0-9a-f-]{36}/persetujuan$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Apakah Anda setuju data Anda diperiksa?"
        )
        # Who, what for (the request's own sentence), which agencies and in which form.
        expect(page.get_by_text("Layanan penentuan kelayakan bansos")).to_be_visible()
        expect(page.get_by_text("Memeriksa apakah keluarga Anda berhak")).to_be_visible()
        for agency in ("Dukcapil", "BPJS Ketenagakerjaan", "Polri", "Himbara", "DTKS"):
            expect(page.locator("summary", has_text=agency).first).to_be_visible()
        bpjstk = page.locator("summary", has_text="BPJS Ketenagakerjaan")
        expect(bpjstk).to_contain_text("4 data")
        wage = page.locator("li", has_text="Gaji per bulan")
        expect(wage).to_be_hidden()  # one line per agency until the citizen opens it
        bpjstk.click()
        expect(wage).to_contain_text("hanya ya atau tidak: di bawah Rp 3.000.000?")
        expect(page.locator("li", has_text="Tempat kerja")).to_contain_text("disamarkan")
        expect(page.get_by_text("Persetujuan Anda berlaku 30 hari.")).to_be_visible()
        expect(page.get_by_text("Data disimpan paling lama 90 hari.")).to_be_visible()
        check("6-persetujuan")
        page.get_by_role("button", name="Ya, saya setuju").click()

        expect(page).to_have_url(re.compile(r"/permohonan/[0-9a-f-]{36}$"))
        outcome = page.locator("h1.outcome")
        expect(outcome).to_have_text(
            re.compile(
                "Keluarga Anda berhak menerima bansos|Keluarga Anda belum bisa menerima bansos"
                "|Petugas perlu memeriksa permohonan Anda"
            )
        )
        expect(page.get_by_text(re.compile(r"rumus kelayakan versi [0-9a-f]{12}"))).to_be_visible()
        expect(page.get_by_role("heading", name="Yang bisa Anda lakukan sekarang")).to_be_visible()
        expect(page.get_by_text(re.compile(r"WIB$")).first).to_be_visible()
        check("7-keputusan")

        page.get_by_role("link", name="Pesan").click()
        expect(page.get_by_text("Permohonan Anda sudah diputuskan.")).to_be_visible()
        # And an SMS says there is news, without the news.
        news = portal.outbox(phone_number)[-1].body
        assert "sudah diputuskan" in news and "berhak" not in news
        check("8-pesan")
        page.get_by_role("button", name="Keluar").click()

        # Another citizen says no: an officer will visit instead.
        sign_in(device, portal, other_nik, other_phone, shots=False)
        page.get_by_role("link", name="Daftarkan keluarga saya").click()
        page.get_by_role("button", name="Ya, daftarkan keluarga saya").click()
        page.get_by_role("button", name="Tidak, saya tidak setuju").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Petugas akan datang ke rumah Anda"
        )
        check("9-petugas-datang")

        # English, on request.
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("An officer will visit you")
        device.check()

    assert device.visited, "the browser visited nothing"
    for url in device.visited:
        assert nik not in url and other_nik not in url, url
    log = portal.log_text()
    assert "consent" in log and "signed in" in log  # the portal did log the journey
    assert nik not in log and other_nik not in log


def test_a_decision_against_states_each_reason_with_the_data_behind_it(
    stack: Stack, portal: RunningPortal
) -> None:
    # A household head with a car registered at Polri: the formula excludes them for it.
    household = next(
        h
        for h in stack.population.households
        if (record := stack.population.polri.get(h.head.nik)) is not None
        and record.car_count > 0
        and family_card(stack.population, h.head.nik) is not None
    )
    nik = household.head.nik
    card = family_card(stack.population, nik)
    assert card is not None
    with phone() as device:
        page = device.page
        sign_in(device, portal, nik, card.phone, shots=False)
        page.get_by_role("link", name="Daftarkan keluarga saya").click()
        page.get_by_role("button", name="Ya, daftarkan keluarga saya").click()
        page.get_by_role("button", name="Ya, saya setuju").click()
        expect(page.locator("h1.outcome")).to_have_text("Keluarga Anda belum bisa menerima bansos")
        reason = page.locator("section.card", has_text="Polri: ada mobil atas nama Anda.")
        # The data behind it, in the form Polri released it: a yes/no, never the count.
        expect(reason).to_contain_text("Data dari Polri:")
        expect(reason).to_contain_text("Mobil atas nama Anda: lebih dari 0? ya")
        expect(page.get_by_text("mengajukan sanggahan")).to_be_visible()
        check = device.check
        check("7b-keputusan-tidak-berhak")
    for url in device.visited:
        assert nik not in url


def test_the_pages_that_say_no_are_plain_and_accessible(
    stack: Stack, portal: RunningPortal
) -> None:
    nik, phone_number = citizens(stack, 30)[29]
    with phone() as device:
        page = device.page
        page.goto(portal.url + "/masuk")
        page.get_by_label("NIK (16 angka, ada di KTP)").fill("3510 1234")
        page.get_by_role("button", name="Kirim kode").click()
        expect(page.get_by_role("alert")).to_have_text(re.compile("NIK terdiri dari 16 angka"))
        device.check("e1-nik-salah")
        page.get_by_label("NIK (16 angka, ada di KTP)").fill(nik)
        page.get_by_role("button", name="Kirim kode").click()
        right = portal.code_for(phone_number)
        page.get_by_label("Kode (6 angka)").fill(f"{(int(right) + 1) % 10**6:06d}")
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("alert")).to_have_text(re.compile("Kode salah"))
        device.check("e2-kode-salah")
        # The session ended while the form was open (here: its cookie is gone).
        page.context.clear_cookies()
        page.get_by_label("Kode (6 angka)").fill(right)
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Halaman ini sudah kedaluwarsa")
        device.check("e3-kedaluwarsa")
        page.goto(portal.url + "/permohonan/00000000-0000-4000-8000-000000000000")
        expect(page).to_have_url(re.compile(r"/masuk$"))  # signed out: sign in first
        sign_in(device, portal, nik, phone_number, shots=False)
        page.goto(portal.url + "/permohonan/00000000-0000-4000-8000-000000000000")
        expect(page.get_by_role("heading", level=1)).to_have_text("Halaman tidak ditemukan")
        device.check("e4-tidak-ditemukan")
