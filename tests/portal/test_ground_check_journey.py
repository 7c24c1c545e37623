"""The ground check in real Chromium, at 390x844 and 1366x768, axe-core on every page: a
citizen refuses consent and follows the case; a PKH companion of the village signs in, sees
the task in the queue, takes it, fills the visit form for each criterion of the formula,
signs the outcome with a fresh code to their phone; the citizen reads the revised decision,
the case's history (verified), the inbox message, and an SMS that only says there is news.
No NIK in any URL visited or any line the portal logged."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from connectors.dukcapil.family import family_card
from examples.eligibility.formula import load_criteria
from portal import i18n
from portal.ground import criteria_checked
from tests.portal.browser import phone
from tests.portal.conftest import RunningPortal, citizens
from tests.portal.test_journey import sign_in
from tests.stack import Stack


@pytest.mark.parametrize("width", [390, 1366])
def test_a_refusal_checked_on_the_ground_and_the_decision_revised(
    stack: Stack, portal: RunningPortal, width: int
) -> None:
    index = 70 if width == 390 else 75
    nik, phone_number = citizens(stack, index + 1)[index]
    card = family_card(stack.population, nik)
    assert card is not None
    head = next(m.name for m in card.members if m.relationship == "head")
    staff_phone = f"0813333{width:05d}"
    login = portal.add_staff("pendamping", card.village.lower(), staff_phone, name="Siti Rahayu")
    i18n.use("id")
    criteria = criteria_checked(load_criteria())
    shots = width == 390

    with phone(width, 844 if shots else 768) as device:
        page = device.page

        def check(name: str) -> None:
            device.check(name if shots else None)

        # The citizen refuses, and follows the check.
        sign_in(device, portal, nik, phone_number, shots=False)
        page.get_by_role("link", name="Daftarkan keluarga saya").click()
        page.get_by_role("button", name="Ya, daftarkan keluarga saya").click()
        page.get_by_role("button", name="Tidak, saya tidak setuju").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Petugas akan datang ke rumah Anda"
        )
        page.get_by_role("link", name="Lihat perkembangan pemeriksaan").click()
        expect(page).to_have_url(re.compile(r"/kasus/[0-9a-f-]{36}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Verifikasi lapangan permohonan Anda"
        )
        expect(page.get_by_text("Menunggu petugas")).to_be_visible()
        expect(page.get_by_text("Riwayat ini utuh (terverifikasi).")).to_be_visible()
        check("g1-kasus")
        page.get_by_role("button", name="Keluar").click()

        # The companion signs in, finds the task, takes it.
        page.goto(portal.url + "/petugas/masuk")
        page.get_by_label("ID petugas Anda (dari dinas sosial)").fill(login)
        page.get_by_role("button", name="Kirim kode").click()
        page.get_by_label("Kode (6 angka)").fill(portal.code_for(staff_phone))
        page.get_by_role("button", name="Masuk").click()
        expect(page).to_have_url(re.compile(r"/petugas/tugas$"))
        task = page.locator("li", has_text=f"Keluarga {head}")
        expect(task).to_contain_text("Warga tidak setuju datanya diperiksa")
        expect(task).to_contain_text("belum diambil")
        check("g2-antrean")
        task.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Warga tidak setuju datanya diperiksa"
        )
        check("g3-tugas")
        page.get_by_role("button", name="Ambil tugas ini").click()

        # The visit: who was met, each criterion of the formula, the conclusion.
        expect(page.get_by_label("Tanggal kunjungan")).to_have_value(re.compile(r"\d{4}-"))
        page.get_by_role("group", name="Siapa yang Anda temui?").get_by_label(
            "kepala keluarga", exact=True
        ).check()
        assert len(criteria) >= 8
        for criterion in criteria:
            group = page.get_by_role("group", name=criterion.text)
            group.get_by_label("tidak", exact=True).check()
        car = page.get_by_role("group", name="Keluarga punya mobil.")
        car.get_by_label("Yang Anda lihat (singkat, boleh kosong)").fill("hanya sepeda tua")
        page.get_by_role("group", name="Kesimpulan Anda").get_by_label(
            "layak menerima bansos", exact=True
        ).check()
        check("g4-kunjungan")
        page.get_by_role("button", name="Kirim kode untuk menandatangani").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tandatangani hasil dengan kode")
        # What is signed is shown beside the code: the form as it was sent, from the code's seal.
        signed = page.locator("section.card", has_text="Yang Anda tandatangani")
        expect(signed).to_contain_text("layak menerima bansos")
        expect(signed).to_contain_text("bertemu: kepala keluarga")
        expect(signed).to_contain_text("Keluarga punya mobil. tidak — hanya sepeda tua")
        check("g5-tanda-tangan")
        page.get_by_label("Kode (6 angka)").fill(portal.code_for(staff_phone))
        page.get_by_role("button", name="Tandatangani").click()
        expect(page.get_by_text("Hasil: layak.")).to_be_visible()
        expect(page.get_by_text("Riwayat ini utuh (terverifikasi).")).to_be_visible()
        check("g6-selesai")
        page.get_by_role("button", name="Keluar").click()

        # The citizen reads the revised decision, its history, the message.
        sign_in(device, portal, nik, phone_number, shots=False)
        page.locator("ul.cards a").first.click()
        expect(page.locator("h1.outcome")).to_have_text("Keluarga Anda berhak menerima bansos")
        expect(
            page.get_by_text(
                re.compile(
                    r"Diputuskan setelah verifikasi lapangan oleh pendamping PKH pada .* WIB\."
                )
            )
        ).to_be_visible()
        check("g7-keputusan-lapangan")
        page.get_by_role("link", name="Lihat riwayat verifikasi lapangan").click()
        history = page.locator("ol.history")
        expect(history).to_contain_text("Petugas (pendamping PKH) mengambil tugas ini.")
        expect(history).to_contain_text("Petugas (pendamping PKH) mengunjungi keluarga ini pada")
        expect(history).to_contain_text("Hasil: layak.")
        expect(page.get_by_text("Riwayat ini utuh (terverifikasi).")).to_be_visible()
        expect(page.get_by_text("Selesai", exact=True)).to_be_visible()
        check("g8-riwayat")
        page.get_by_role("link", name="Pesan").click()
        expect(
            page.get_by_text("Permohonan Anda sudah diperiksa di lapangan dan diputuskan.")
        ).to_be_visible()
        check("g9-pesan")

    # The SMS sent when the case closed (before the citizen's sign-in code) says only that
    # there is news.
    bodies = [sms.body for sms in portal.outbox(phone_number)]
    news = bodies[-2]
    assert news == (
        "Portal Perlinsos: ada kabar tentang permohonan bansos Anda."
        " Buka Portal Perlinsos untuk melihatnya."
    )
    assert device.visited
    for url in device.visited:
        assert nik not in url, url
    log = portal.log_text()
    assert "closed by" in log and nik not in log
