"""Case files as the console keeps them (``hub.console.cases``): in one SQLite file under the
hub home, readable by its owner only; names unique; no NIK in a name, a note or a pin's
reason (refused, and nothing written); a pin again replaces its reason."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub.console.cases import CaseFiles, CaseProblem

NIK = "3510014401800001"
RECORD = {
    "time": "2026-12-05T08:33:05+00:00",
    "client_id": "ID/GOV/KEMENSOS/eligibility",
    "decision": "RELEASED",
    "subject": "3e7358c7",
    "justification": "Banjir",
}


def test_cases_notes_and_pins_are_kept_in_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    path = tmp_path / "console" / "cases.sqlite3"
    files = CaseFiles(path)
    case = files.create("Kemiren", "siti", "pemeriksaan awal")
    files.pin(case, 41, "siti", "akses darurat", RECORD)
    files.pin(case, 7, "budi", "", RECORD)
    files.pin(case, 41, "budi", "akses darurat berulang", RECORD)
    files.add_note(case, "budi", "baris satu\r\nbaris dua ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    again = CaseFiles(path)  # as a restarted console reads it
    (listed,) = again.all()
    assert (listed.name, listed.created_by, listed.pins, listed.notes) == ("Kemiren", "siti", 2, 2)
    pins = {pin.index: pin for pin in again.pins(case)}
    assert pins[41].note == "akses darurat berulang" and pins[41].pinned_by == "budi"
    # A summary of the record, not the whole of it.
    assert set(pins[7].summary) == {"time", "client_id", "decision"}
    assert [n.text for n in again.notes(case)] == ["pemeriksaan awal", "baris satu\nbaris dua"]
    again.unpin(case, 7)
    assert [pin.index for pin in again.pins(case)] == [41]


def test_a_nik_a_duplicate_name_or_a_missing_case_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    files = CaseFiles(tmp_path / "cases.sqlite3")
    case = files.create("Kemiren", "siti")
    refusals = [
        (lambda: files.create(f"pemohon {NIK}", "siti"), "holds no NIK"),
        (lambda: files.create("Lateng", "siti", f"NIK {NIK[:4]}-{NIK[4:]}"), "holds no NIK"),
        (lambda: files.create(" Kemiren ", "budi"), "already exists"),
        (lambda: files.create("", "budi"), "1 to 100"),
        (lambda: files.add_note(case, "siti", NIK), "holds no NIK"),
        (lambda: files.add_note(case, "siti", f"{NIK[:8]}\r\n{NIK[8:]}"), "holds no NIK"),
        (lambda: files.add_note(case, "siti", "x" * 1001), "1 to 1000"),
        (lambda: files.add_note(case + 1, "siti", "catatan"), "no such case"),
        (lambda: files.pin(case, 3, "siti", f"pemohon {NIK}", RECORD), "holds no NIK"),
        (lambda: files.pin(case + 1, 3, "siti", "", RECORD), "no such case"),
    ]
    for act, words in refusals:
        with pytest.raises(CaseProblem, match=words):
            act()
    assert [c.name for c in files.all()] == ["Kemiren"]
    assert files.notes(case) == [] and files.pins(case) == []
    assert NIK[:8].encode() not in (tmp_path / "cases.sqlite3").read_bytes()
