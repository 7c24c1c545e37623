"""The criteria file: the shipped one loads, thresholds change outcomes, bad files are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.eligibility.evidence import ATR_BPN, POLRI
from examples.eligibility.formula import (
    RULES,
    SWITCHES,
    THIN_EVIDENCE,
    Criteria,
    CriteriaError,
    decide,
    load_criteria,
)
from tests.eligibility.cases import evidence, with_fields

SHIPPED = Path(__file__).parents[2] / "examples" / "eligibility" / "criteria.yaml"


def shipped_document() -> dict[str, Any]:
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_the_shipped_criteria_switch_every_rule_explicitly() -> None:
    criteria = load_criteria()
    assert criteria == load_criteria(SHIPPED)
    assert (
        set(shipped_document()["rules"])
        == SWITCHES
        == {rule.code for rule in RULES} | {THIN_EVIDENCE}
    )
    assert criteria.enabled == {
        "deceased",
        "moved_out",
        "identity_unverified",
        "formal_wage",
        "jkn_class_paying",
        "land_value",
        "land_area",
        "car",
        "bank_balance",
        "average_balance",
        "recent_job_loss",
        "thin_evidence",
    }
    assert (criteria.wage_rp, criteria.land_area_m2, criteria.jkn_classes) == (
        3_000_000,
        2_500,
        {1, 2},
    )
    assert criteria.jkn_self_paying == {"PPU", "PBPU", "BP"}


def test_every_rule_has_a_rationale_comment_in_the_shipped_file() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    lines = text[text.index("\nrules:") : text.index("\nthresholds:")].splitlines()
    for code in SWITCHES:
        (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(f"{code}:")]
        assert lines[index - 1].strip().startswith("#"), code


def test_a_changed_threshold_changes_the_outcome(tmp_path: Path) -> None:
    mid_sized = evidence({ATR_BPN: with_fields(ATR_BPN, total_area_m2="[1000, 2500)")})
    assert decide(mid_sized, load_criteria()).outcome == "eligible"

    document = shipped_document()
    document["thresholds"]["land_area_m2"] = 1000
    stricter = tmp_path / "criteria.yaml"
    stricter.write_text(yaml.safe_dump(document), encoding="utf-8")
    decision = decide(mid_sized, load_criteria(stricter))
    assert decision.outcome == "ineligible"
    assert decision.exclusions[0].text == "land area 1,000 m² or more per ATR/BPN"


def test_switching_a_rule_off_changes_the_outcome() -> None:
    car_owner = evidence({POLRI: with_fields(POLRI, car_count=True)})
    document = shipped_document()
    document["rules"]["car"] = False
    assert decide(car_owner, load_criteria()).outcome == "ineligible"
    assert decide(car_owner, Criteria.from_yaml(yaml.safe_dump(document))).outcome == "eligible"


def test_thresholds_are_optional_and_default_to_the_programme_lines() -> None:
    document = shipped_document()
    del document["thresholds"]
    assert Criteria.from_yaml(yaml.safe_dump(document)) == load_criteria()


_DELETE = object()


def _edited(section: str, key: str | None, value: object) -> str:
    """The shipped file with one entry changed (``key=None`` replaces the whole section)."""
    document = shipped_document()
    if key is None:
        document[section] = value
    elif value is _DELETE:
        del document[section][key]
    else:
        document[section][key] = value
    return yaml.safe_dump(document)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("rules", "horoscope", True, "unknown rules: horoscope"),
        ("rules", "car", _DELETE, "rules not switched on or off: car"),
        ("rules", "car", "yes please", "rules must be true or false: car"),
        ("rules", None, ["car"], "'rules' must map"),
        ("thresholds", "wage", 1, "unknown thresholds: wage"),
        ("thresholds", "land_area_m2", True, "land_area_m2 must be a whole number"),
        ("thresholds", "land_area_m2", -1, "land_area_m2 must be a whole number"),
        ("thresholds", "land_area_m2", 2500.5, "land_area_m2 must be a whole number"),
        ("thresholds", "jkn_classes", [], "jkn_classes must be a non-empty list of int"),
        ("thresholds", "jkn_classes", ["1"], "jkn_classes must be a non-empty list of int"),
        ("thresholds", "jkn_self_paying", "PPU", "non-empty list of str"),
        ("thresholds", None, [1], "'thresholds' must be a mapping"),
        ("extra", None, 1, "criteria need a 'rules' mapping"),
    ],
)
def test_a_malformed_criteria_file_is_refused(
    section: str, key: str | None, value: object, message: str
) -> None:
    with pytest.raises(CriteriaError, match=message):
        Criteria.from_yaml(_edited(section, key, value))


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(CriteriaError, match="criteria need"):
        Criteria.from_yaml("- just a list")
