"""Which names a console may record as whom a call is for: short, printable, no NIK."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.console.officers import add_officer
from hub.home import HubHome
from jembatan.on_behalf import MAX_NAME, name_problem


@pytest.mark.parametrize("name", ["siti", "budi.santoso", "Dewi_Lestari-2", "x" * MAX_NAME])
def test_an_officers_name_may_be_recorded(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * (MAX_NAME + 1),
        "siti\nALLOWED",  # a forged second line in a terminal or log
        "siti\x1b[2J",
        "siti\u202e",  # bidi override
        " siti",
        "siti ",
        "3510010101010001",
        "3510-0101-0101-0001",
        # Full-width digits (U+FF10..U+FF19), spelled out so the source stays ASCII.
        "officer " + "".join(chr(0xFF10 + int(d)) for d in "3510 0101 0101 0001" if d != " "),
    ],
)
def test_a_name_that_could_forge_a_line_or_carry_a_nik_is_not(name: str) -> None:
    assert name_problem(name) is not None


def test_the_console_will_not_take_an_officer_the_hub_would_refuse_to_name(
    tmp_path: Path,
) -> None:
    home = HubHome(tmp_path)
    with pytest.raises(ValueError, match="NIK"):
        add_officer(home, "3510010101010001", "a-long-enough-password")
    assert add_officer(home, "siti", "a-long-enough-password")
