"""The portal's words: every message in its code, templates and the agencies' catalogues is
in the committed Babel catalogue with an Indonesian translation (nothing falls back to
English on an Indonesian page), and the placeholders of each translation are the message's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from portal import explain, i18n

ROOT = Path(__file__).resolve().parent.parent.parent
PO = ROOT / "portal" / "locale" / "id" / "LC_MESSAGES" / "messages.po"
KEYWORDS = ["-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "-k", "N_", "-k", "FieldSpec:3"]


def _ids(path: Path) -> dict[str, object]:
    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(f) if m.id}


def test_every_message_is_translated_into_indonesian(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "portal/babel.cfg", *KEYWORDS, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    extracted, translated = _ids(pot), _ids(PO)
    assert sorted(set(extracted) - set(translated)) == []
    empty = [m for m, t in translated.items() if not (t if isinstance(t, str) else t[0])]
    assert empty == []
    for message, translation in translated.items():
        text = translation if isinstance(translation, str) else translation[0]
        assert set(re.findall(r"%\((\w+)\)", text)) == set(re.findall(r"%\((\w+)\)", message))


def test_the_hubs_forms_in_plain_indonesian() -> None:
    i18n.use("id")
    rupiah = "Last reported monthly wage, in rupiah"
    assert explain.question("< 3000000", rupiah) == "di bawah Rp 3.000.000"
    assert explain.question(">= 2022", "Build year of the newest vehicle") == "2022 atau lebih"
    assert explain.question("< 1966-11-01", "Registered day of birth") == "sebelum 1 November 1966"
    assert explain.question("within 90 days", "") == "dalam 90 hari terakhir"
    assert explain.value_text("[1000, 2500)", "BUCKETED", "", "area") == "antara 1.000 dan 2.500"
    assert explain.value_text(True, "PREDICATE", "< 3000000", rupiah) == (
        "di bawah Rp 3.000.000? ya"
    )
    assert explain.value_text("active", "RAW", "", "") == "aktif"
    i18n.use("en")
    assert explain.question("< 3000000", rupiah) == "below Rp 3,000,000"
