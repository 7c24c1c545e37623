"""The citizen's data in the portal, against the real hub and portal processes: who saw it
("Siapa melihat data saya", from the hub's ``Audit.CitizenAccesses``, paged by log index),
their consents with the hub's signed receipts, withdrawing one (and the hub refusing the
very next query under it), and the inbox and SMS telling them their data was read. Pages in
Chromium at 390 and 1366 px with axe-core; another citizen's consent, a forged form, a NIK
in a URL or a log line, each refused or absent."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from consent.receipt import verify_consent_receipt
from hub.home import CONSENT_MANAGER_ID
from jembatan.client import QueryRefused
from jembatan.keys import load_ed25519_public_pem
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from portal.members import ConsentManager
from tests.portal.browser import phone
from tests.portal.conftest import RunningPortal, citizens, start_portal
from tests.portal.http import Citizen, browser_session
from tests.portal.test_journey import sign_in
from tests.stack import Stack, employment_body, employment_query

NEWS_SMS = (
    "Portal Perlinsos: ada kabar baru tentang data Anda. Buka Portal Perlinsos untuk melihatnya."
)
SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
WHY = "Banjir bandang di Kemiren: keluarga mengungsi, tidak dapat dihubungi"
EMERGENCY_FIELDS = ("employment_status", "termination_date")
_ENTRY = re.compile(r'<li id="akses-(\d+)">')


@pytest.fixture
async def citizen(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for one in browser_session(portal):
        yield one


@pytest.fixture
async def other(portal: RunningPortal) -> AsyncIterator[Citizen]:
    async for one in browser_session(portal):
        yield one


def _consent_state(stack: Stack, consent_id: str) -> str:
    with stack.registry() as registry:
        record = registry.consent(consent_id)
    assert record is not None
    return record.status


async def _officer_looks_up(stack: Stack, nik: str) -> None:
    async with stack.client(stack.auditor()) as officer:
        # One record is enough to read: the search for the citizen is what is recorded.
        await officer.search(audit_pb2.SearchRequest(subject=nik, limit=1))


async def _decided(citizen: Citizen, nik: str, phone_number: str) -> None:
    """The existing journey: sign in, apply, agree; the portal's eligibility service asks
    every agency through the hub."""
    await citizen.sign_in(nik, phone_number)
    application = await citizen.apply()
    answered = await citizen.post(f"/permohonan/{application}/persetujuan", {"choice": "grant"})
    assert "rumus kelayakan versi" in await answered.text()


async def _decided_and_looked_up(portal: RunningPortal, stack: Stack, nik: str, phone: str) -> None:
    async for citizen in browser_session(portal):
        await _decided(citizen, nik, phone)
    await _officer_looks_up(stack, nik)


@pytest.mark.parametrize("width", [390, 1366])
def test_a_citizen_sees_who_read_their_data_and_withdraws_a_consent(
    stack: Stack, portal: RunningPortal, tmp_path: Path, width: int
) -> None:
    nik, phone_number = citizens(stack, 92)[90 if width == 390 else 91]
    # Real accesses, through the hub: the journey's fan-out, then a security officer's search.
    asyncio.run(_decided_and_looked_up(portal, stack, nik, phone_number))
    shots = width == 390

    def check(name: str) -> None:
        device.check(name if shots else None)

    with phone(width, 844 if width == 390 else 768) as device:
        page = device.page
        sign_in(device, portal, nik, phone_number, shots=False)
        page.get_by_role("link", name="Siapa melihat data saya").click()
        expect(page).to_have_url(re.compile(r"/data-saya$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Siapa melihat data saya")
        entries = page.locator("ol.timeline > li")
        # Newest first: the officer's lookup, then the fan-out (one event, seven agencies),
        # then the consent given and the consent asked for.
        expect(entries.nth(0)).to_contain_text(
            "Petugas keamanan BSSN melihat catatan akses data Anda."
        )
        expect(entries.nth(0)).to_contain_text(re.compile(r"\d{1,2} Desember 2026 \d\d\.\d\d WIB"))
        fan_out = entries.nth(1)
        expect(fan_out).to_contain_text(
            "Layanan penentuan kelayakan bansos, Kementerian Sosial membaca data Anda."
        )
        expect(fan_out).to_contain_text("Untuk apa: Memeriksa apakah keluarga Anda berhak")
        for agency in ("Dukcapil", "BPJS Ketenagakerjaan", "Polri", "Himbara", "DTKS"):
            expect(fan_out.locator("summary", has_text=agency)).to_be_visible()
        polri = fan_out.locator("details", has_text="Polri")
        polri.locator("summary").click()
        expect(polri).to_contain_text("Mobil atas nama Anda: hanya ya atau tidak")
        expect(polri).to_contain_text("hanya rentangnya")
        expect(entries.nth(2)).to_contain_text("Anda memberi persetujuan, lewat Portal Perlinsos.")
        expect(entries.nth(3)).to_contain_text(
            "Layanan penentuan kelayakan bansos, Kementerian Sosial meminta persetujuan Anda."
        )
        check("d1-siapa-melihat-data-saya")

        page.get_by_role("link", name="Persetujuan saya").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Persetujuan saya")
        given = page.locator("ul.cards > li").first  # the newest: the one just given
        expect(given).to_contain_text("aktif")
        expect(given).to_contain_text("Layanan penentuan kelayakan bansos")
        expect(given).to_contain_text(re.compile(r"Berlaku sampai \d{1,2} Januari 2027"))
        check("d2-persetujuan-saya")

        given.get_by_role("link", name="Lihat, ambil bukti, atau tarik").click()
        expect(page).to_have_url(re.compile(r"/data-saya/persetujuan/[0-9a-f-]{36}$"))
        consent_id = page.url.rsplit("/", 1)[1]
        expect(page.locator("dd.code").first).to_have_text(consent_id)
        expect(page.locator("dd.code").nth(1)).to_have_text(
            re.compile(r"^([0-9a-f]{4} ){15}[0-9a-f]{4}$")
        )
        check("d3-bukti-persetujuan")
        with page.expect_download() as info:
            page.get_by_role("link", name="Unduh bukti (file)").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.name == f"bukti-persetujuan-{consent_id}.json"
        text = saved.read_text()
        assert nik not in text
        receipt = json.loads(text)
        log_key = load_ed25519_public_pem(stack.home.log_public_key.read_bytes())
        signed = verify_consent_receipt(receipt["receipt"], log_key)
        assert signed == receipt["document"]
        assert (signed["record_id"], signed["state"]) == (consent_id, "ACTIVE")

        page.get_by_role("link", name="Tarik persetujuan ini").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tarik persetujuan Anda?")
        expect(page.locator("main")).to_contain_text(
            "Setelah ditarik, Layanan penentuan kelayakan bansos, Kementerian Sosial tidak bisa"
            " lagi meminta data Anda, mulai permintaan berikutnya."
        )
        check("d4-tarik-persetujuan")
        assert _consent_state(stack, consent_id) == "ACTIVE"  # asking is not withdrawing
        page.get_by_role("button", name="Ya, tarik persetujuan saya").click()
        expect(page.get_by_role("status")).to_contain_text("Persetujuan Anda sudah ditarik.")
        expect(page.locator("main")).to_contain_text("ditarik")
        expect(page.get_by_role("link", name="Tarik persetujuan ini")).to_have_count(0)
        check("d5-sudah-ditarik")
        assert _consent_state(stack, consent_id) == "REVOKED"

        page.get_by_role("link", name="Kembali ke persetujuan saya").click()
        expect(page.locator("ul.cards > li").first).to_contain_text("ditarik")
        page.get_by_role("link", name="Pesan").click()
        # After the decision, and on signing in after the officer's search (and, in a long
        # session, for what other tests did to this citizen before).
        read = page.get_by_role("link", name=re.compile("Data Anda dibaca"))
        expect(read.first).to_be_visible()
        assert read.count() >= 2
        check("d6-pesan-data-dibaca")
        page.get_by_role("button", name="English").click()
        expect(page.get_by_text("Your data was read.").first).to_be_visible()
        page.goto(portal.url + "/data-saya")
        expect(page.get_by_role("heading", level=1)).to_have_text("Who saw my data")
        device.check()

    for url in device.visited:
        assert nik not in url, url
    assert nik not in portal.log_text()


async def test_a_withdrawal_in_the_portal_is_refused_by_the_hub_on_the_very_next_query(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    """The eligibility service queries under a consent the consent manager granted (signed
    with the portal's key; the portal itself never keeps an artefact, so the test holds
    this one); the citizen withdraws it in the portal; the very next query under it is
    refused CONSENT_REVOKED, and the timeline says so in words."""
    nik, phone_number = citizens(stack, 93)[92]
    artefact, consent_id = stack.consent(nik)
    async with stack.client() as eligibility:
        # Released (as a record, or as "no record of this person": either way answered).
        answer = await employment_query(eligibility, nik, artefact)
        assert answer.log_index >= 0
        await citizen.sign_in(nik, phone_number)
        confirm = await citizen.get(f"/data-saya/persetujuan/{consent_id}/tarik")
        assert confirm.status == 200
        assert "mulai permintaan berikutnya" in await confirm.text()
        done = await citizen.post(f"/data-saya/persetujuan/{consent_id}/tarik", {})
        assert done.url.path == f"/data-saya/persetujuan/{consent_id}"
        assert "Persetujuan Anda sudah ditarik" in await done.text()
        before = stack.log_size()
        with pytest.raises(QueryRefused) as refused:
            await employment_query(eligibility, nik, artefact)
    assert refused.value.reason == "CONSENT_REVOKED"
    (record,) = stack.records(before)
    assert (record.decision, record.reason, record.consent_id) == (
        "REFUSED",
        "CONSENT_REVOKED",
        consent_id,
    )
    assert f"consent {consent_id} withdrawn" in portal.log_text()
    timeline = await (await citizen.get("/data-saya")).text()
    newest = timeline.split('<li id="akses-', 2)[1]
    assert "meminta data Anda. Permintaan itu ditolak." in newest
    assert "Anda sudah menarik persetujuan Anda" in newest
    # Withdrawn is withdrawn: asking again changes nothing and offers no second withdrawal.
    again = await citizen.post(f"/data-saya/persetujuan/{consent_id}/tarik", {})
    assert again.url.path == f"/data-saya/persetujuan/{consent_id}"
    assert "Tarik persetujuan ini" not in await again.text()


async def test_another_citizens_consent_is_not_found_anywhere_and_stays_as_it_was(
    stack: Stack, portal: RunningPortal, citizen: Citizen, other: Citizen
) -> None:
    (alice_nik, _), (bob_nik, bob_phone) = citizens(stack, 96)[94:96]
    _, consent_id = stack.consent(alice_nik)
    await other.sign_in(bob_nik, bob_phone)
    base = f"/data-saya/persetujuan/{consent_id}"
    for path in (base, f"{base}/bukti", f"{base}/tarik"):
        response = await other.get(path)
        assert response.status == 404, path
        assert "bukan milik Anda" in await response.text()
        assert "attachment" not in response.headers.get("Content-Disposition", "")
    await other.get("/data-saya/persetujuan")
    refused = await other.post(f"{base}/tarik", {})
    assert refused.status == 404
    assert _consent_state(stack, consent_id) == "ACTIVE"
    assert "no such consent of theirs" in portal.log_text()
    # Made-up ids and pages: nothing, without asking the hub.
    for path in (
        "/data-saya/persetujuan/not-a-consent",
        "/data-saya/persetujuan/00000000-0000-4000-8000-000000000000/bukti",
        "/data-saya?sebelum=abc",
        "/data-saya?sebelum=5&jejak=1,x",
    ):
        assert (await other.get(path)).status == 404, path
    # Signed out, none of it is anything but the sign-in page.
    async for stranger in browser_session(portal):
        for path in ("/data-saya", "/data-saya/persetujuan", base, f"{base}/bukti"):
            assert (await stranger.get(path)).url.path == "/masuk", path


async def test_withdrawing_needs_the_forms_token_and_this_site(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    nik, phone_number = citizens(stack, 97)[96]
    _, consent_id = stack.consent(nik)
    await citizen.sign_in(nik, phone_number)
    path = f"/data-saya/persetujuan/{consent_id}/tarik"
    await citizen.get(path)
    for csrf in ("", "forged-token"):
        response = await citizen.post(path, {}, csrf=csrf)
        assert response.status == 403, csrf
        assert "Halaman ini sudah kedaluwarsa" in await response.text()
    cross = await citizen.post(path, {}, Origin="https://evil.example")
    assert cross.status == 403
    assert _consent_state(stack, consent_id) == "ACTIVE"
    await citizen.get(path)
    assert (await citizen.post(path, {})).status == 200
    assert _consent_state(stack, consent_id) == "REVOKED"


async def test_the_timeline_comes_in_pages_by_log_index_newest_first(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    nik, phone_number = citizens(stack, 98)[97]
    artefact, _ = stack.consent(nik)
    async with stack.client() as eligibility:
        queries = [  # one agency asked again and again: an event each
            (await employment_query(eligibility, nik, artefact)).log_index for _ in range(44)
        ]
    await citizen.sign_in(nik, phone_number)
    pages, urls = [], ["/data-saya"]
    while True:
        response = await citizen.get(urls[-1])
        text = await response.text()
        pages.append([int(i) for i in _ENTRY.findall(text)])
        older = re.search(r'href="(/data-saya\?[^"]+)">Lebih lama', text)
        if not older:
            break
        urls.append(older[1].replace("&amp;", "&"))
    # Twenty accesses a page, newest first, every one of the hub's list in one page or
    # another; each of the 44 queries an entry of its own (one agency asked again is a new
    # event), and whatever else the session did to this citizen grouped as it happened.
    shown = [i for p in pages for i in p]
    assert shown == sorted(shown, reverse=True) and len(set(shown)) == len(shown)
    async with stack.client(CONSENT_MANAGER_ID) as client:
        manager = ConsentManager(client, stack.consent_key)
        whole = sorted(a.log_index for a in (await manager.accesses(nik, limit=0)).accesses)
    assert shown[0] == whole[-1] and set(shown) <= set(whole)
    assert len(pages) == -(-len(whole) // 20)
    assert set(queries) <= set(shown)
    for url in urls[1:]:
        assert re.fullmatch(r"/data-saya\?sebelum=\d+(&jejak=\d+(,\d+)*)?", url), url
    # "Newer" from the last page is the middle one, and from there the first.
    last = await (await citizen.get(urls[2])).text()
    newer = re.search(r'href="(/data-saya[^"]*)">← Lebih baru', last)
    assert newer and newer[1].replace("&amp;", "&") == urls[1]
    middle = await (await citizen.get(urls[1])).text()
    assert re.search(r'href="/data-saya">← Lebih baru', middle)


async def test_after_a_decision_the_inbox_says_the_data_was_read_and_the_phone_hears_once(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    nik, phone_number = citizens(stack, 99)[98]

    async def told() -> int:
        return (await (await citizen.get("/pesan")).text()).count("Data Anda dibaca.")

    await citizen.sign_in(nik, phone_number)
    # Signing in told them of any access of before (the session's other tests may have
    # asked about this citizen too): what follows is counted from here.
    before = await told()
    application = await citizen.apply()
    await citizen.post(f"/permohonan/{application}/persetujuan", {"choice": "grant"})
    assert await told() == before + 1
    assert "Permohonan Anda sudah diputuskan." in await (await citizen.get("/pesan")).text()
    # One SMS for the decision; the data read with it is in the inbox, not a second SMS.
    bodies = [sms.body for sms in portal.outbox(phone_number)]
    assert len(bodies) == 2 and "sudah diputuskan" in bodies[1]
    # Told once: opening the page again finds nothing new.
    await citizen.get("/beranda")
    assert await told() == before + 1
    # An officer looks them up; their page, opened next, tells them (no SMS: they are on it).
    await _officer_looks_up(stack, nik)
    home = await (await citizen.get("/beranda")).text()
    assert f"Ada {before + 3} pesan untuk Anda" in home
    assert await told() == before + 2
    assert len(portal.outbox(phone_number)) == 2


async def test_an_access_the_citizen_did_not_cause_reaches_their_inbox_and_phone(
    stack: Stack, tmp_path: Path
) -> None:
    watching = start_portal(stack, tmp_path, "--watch-every", "1")
    try:
        nik, phone_number = citizens(stack, 100)[99]

        def told() -> int:
            return [s.body for s in watching.outbox(phone_number)].count(NEWS_SMS)

        async for citizen in browser_session(watching):
            await citizen.sign_in(nik, phone_number)
            # Signing in looks for news (an access of before, if any, told already then).
            messages = (await (await citizen.get("/pesan")).text()).count("Data Anda dibaca.")
            before = told()
            await _officer_looks_up(stack, nik)
            deadline = time.monotonic() + 15
            while told() == before and time.monotonic() < deadline:
                time.sleep(0.2)
            assert told() == before + 1, watching.outbox(phone_number)
            inbox = await (await citizen.get("/pesan")).text()
            assert inbox.count("Data Anda dibaca.") == messages + 1
            time.sleep(2.5)  # more rounds of the watch: nothing new, nothing told
            assert told() == before + 1
        log = watching.log_text()
        assert "told of 1 new accesses" in log and nik not in log
    finally:
        watching.process.stop()


async def test_an_emergency_query_and_a_console_officers_search_are_shown_as_such(
    stack: Stack, portal: RunningPortal, citizen: Citizen
) -> None:
    nik, phone_number = citizens(stack, 102)[101]
    # Break-glass: released without consent on a legal basis, with a supervisor's approval.
    stack.member(SUPERVISOR, roles=["approver"])
    basis = exchange_pb2.LegalBasis(reference=LAW, justification=WHY)
    async with stack.client() as client, stack.client(SUPERVISOR) as supervisor:
        body = employment_body(
            client, nik, "", EMERGENCY_FIELDS, purpose="bansos-emergency", legal_basis=basis
        )
        await client.send(supervisor.approve(client.sign(body)))
    # An officer at the console (one certificate for all officers) looks the citizen up.
    channel = stack.channel(stack.console_member())
    async with channel:
        await audit_pb2_grpc.AuditStub(channel).Search(
            audit_pb2.SearchRequest(subject=nik, limit=1),
            metadata=((ON_BEHALF_OF_METADATA_KEY, "siti.bssn"),),
        )
    await citizen.sign_in(nik, phone_number)
    text = await (await citizen.get("/data-saya")).text()
    officer, emergency = text.split('<li id="akses-')[1:3]
    assert "Petugas keamanan BSSN melihat catatan akses data Anda." in officer
    assert "Petugas: siti.bssn" in officer
    assert "membaca data Anda." in emergency
    assert "Permintaan darurat, tanpa persetujuan Anda." in emergency
    assert "Keadaan darurat: bantuan untuk keluarga yang terkena bencana" in emergency
