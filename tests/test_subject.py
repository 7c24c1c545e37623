"""The one test of free text the hub keeps verbatim: could it hold a NIK, however written
out; and is it printable. Every entry point uses it (tests/security, tests/integration)."""

from __future__ import annotations

import pytest

from jembatan.ids import is_code, is_field_name
from jembatan.subject import is_nik, is_printable, may_hold_nik
from tests.disguises import CONTROL_TEXTS, NIK_DISGUISES, disguised

NIK = "3510114406770001"
# Digits of another script (Arabic-Indic), which NFKC leaves as they are: still digits.
ARABIC_INDIC = NIK.translate({ord("0") + d: 0x0660 + d for d in range(10)})


@pytest.mark.parametrize(
    "text",
    [
        NIK,
        f"pemohon {NIK}.",
        *(f"pemohon {disguised(NIK, how)} mengungsi" for how in NIK_DISGUISES),
        "3510 - 1144 - 0677 - 0001",
        "3510\t1144\n0677\r0001",
        "x3510_1144_0677_0001",
        "3\u03015101144067700011",  # a combining mark between digits
        ARABIC_INDIC,
        NIK + "9",  # longer runs too: a NIK with a digit stuck to it is still there
    ],
)
def test_a_nik_is_found_however_it_is_written(text: str) -> None:
    assert may_hold_nik(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Verifikasi kelayakan bansos PKH",
        "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48",
        "Banjir 20/11/2025 pukul 10.30, 12 KK mengungsi",
        "123456789012345",  # fifteen digits
        "3510-1144-0677-000",
        "3510 1144 x 0677 0001",  # a letter ends the run
        "enr-0123456789abcdef",
    ],
)
def test_ordinary_text_is_not_taken_for_a_nik(text: str) -> None:
    assert not may_hold_nik(text)


def test_only_sixteen_ascii_digits_are_a_nik() -> None:
    assert is_nik(NIK)
    assert not is_nik(disguised(NIK, "full-width")) and not is_nik(ARABIC_INDIC)


@pytest.mark.parametrize("text", [*CONTROL_TEXTS.values(), "a\u200bb", "a\u202eb", "a\tb"])
def test_control_format_and_line_breaking_characters_are_not_printable(text: str) -> None:
    assert not is_printable(text)


def test_consent_codes_and_field_names_refuse_a_disguised_nik() -> None:
    assert is_code("bansos-eligibility") and is_field_name("employment_status")
    assert not is_code(f"bansos-{disguised(NIK, 'dashed')}")
    assert not is_field_name(f"f{disguised(NIK, 'dotted')}")
