"""`jembatan policy lint|test|explain` as an operator runs them: output lines and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.bpjstk import SIMULATED as BPJSTK
from hub.home import HubHome
from hub.provisioning import enrol, init_home, register_service
from policies import DEFAULT_DIRECTORY
from tests.test_cli import jembatan

EMPLOYMENT = "ID/GOV/BPJSTK/wages/employment"
DTKS = "ID/GOV/KEMENSOS/dtks/registry"


def shipped_copy(directory: Path) -> Path:
    shutil.copytree(DEFAULT_DIRECTORY, directory, ignore=shutil.ignore_patterns("*.py", "__*"))
    return directory


@pytest.mark.parametrize("action", ["", "lint", "test", "explain"])
def test_every_policy_command_answers_help(action: str) -> None:
    result = jembatan(*["policy", action][: 2 if action else 1], "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: jembatan policy" in result.stdout


def test_lint_of_the_shipped_policies_passes_with_warnings_only(tmp_path: Path) -> None:
    result = jembatan("policy", "lint", home=tmp_path / "no-home")
    assert result.returncode == 0, result.stdout
    *findings, summary = result.stdout.splitlines()
    assert all(": warning: " in line for line in findings)
    assert summary.startswith("0 error(s)") and "pilot connectors' catalogues" in summary


def test_lint_against_a_hub_registry_fails_on_errors(tmp_path: Path) -> None:
    home = HubHome(tmp_path / "home")
    init_home(home)
    enrol(home, "ID/GOV/KEMENSOS/eligibility")
    agency = enrol(home, BPJSTK.agency_id)
    for service_id in BPJSTK.services:
        catalogue = BPJSTK.service_catalogue(service_id)
        register_service(home, service_id, agency.cert_pem, "127.0.0.1:1", catalogue)
    # This hub routes only BPJSTK: the DTKS rule's service is unknown here.
    policies = shipped_copy(tmp_path / "policies")
    result = jembatan(
        "policy", "lint", "--dir", str(policies), "--home", str(home.root), home=tmp_path
    )
    assert result.returncode == 1
    dtks_rule = f"{policies / 'bansos-dtks.yaml'}:9: error: unknown service '{DTKS}'"
    assert any(line.startswith(dtks_rule) for line in result.stdout.splitlines())
    assert f"checked against the registry of {home.root}" in result.stdout


def test_lint_with_a_home_that_has_no_registry_is_a_one_line_error(tmp_path: Path) -> None:
    result = jembatan("policy", "lint", "--home", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"jembatan: --home {tmp_path / 'nowhere'}: no hub registry with services there\n"
    )


def test_policy_test_passes_on_the_shipped_suite() -> None:
    result = jembatan("policy", "test")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].startswith("16 passed, 0 failed")


def test_policy_test_names_the_failing_case_expected_and_actual(tmp_path: Path) -> None:
    policies = shipped_copy(tmp_path / "policies")
    cases = policies / "tests" / "bansos-bpjstk.yaml"
    text = cases.read_text()
    cases.write_text(text.replace("      employer: masked\n", "      employer: raw\n", 1))
    result = jembatan("policy", "test", "--dir", str(policies))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failing = lines.index(
        f"FAIL {cases}:5: eligibility gets the status, a masked employer and yes/no answers "
        "on wage and job loss"
    )
    assert lines[failing + 1].startswith("  expected: release employer raw, ")
    assert lines[failing + 2].startswith("  actual:   release employer masked, ")
    assert lines[-1].startswith("15 passed, 1 failed")


def test_policy_test_with_a_broken_policy_is_a_one_line_error(tmp_path: Path) -> None:
    policies = shipped_copy(tmp_path / "policies")
    (policies / "bansos-dtks.yaml").write_text("rules: []\n")
    result = jembatan("policy", "test", "--dir", str(policies))
    assert result.returncode == 2
    assert result.stderr == (
        f"jembatan: {policies / 'bansos-dtks.yaml'}:1: "
        "'rules' must be a non-empty list, got a list\n"
    )


def test_explain_exits_0_when_released_and_1_when_not() -> None:
    released = jembatan("policy", "explain", "--service", EMPLOYMENT, "--field", "employer")
    assert released.returncode == 0
    assert released.stdout.startswith("released masked: rule ")
    denied = jembatan(
        "policy",
        "explain",
        "--client",
        "ID/GOV/X/y",
        "--service",
        EMPLOYMENT,
        "--field",
        "employer",
    )
    assert denied.returncode == 1
    assert denied.stdout.startswith("not released: no rule covers client ID/GOV/X/y")
