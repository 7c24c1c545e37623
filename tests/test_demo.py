"""`jembatan demo`, run as a user runs it, and its figures checked against ground truth.

The expected report is computed without the hub: each agency's record straight from the
population, transformed by the shipped policies, decided by the same formula. If the hub
lost, added, altered or mis-routed anything on the way, the two reports would differ.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys

from connectors.population import Population, generate
from examples.eligibility.evaluation import Row, evaluate, render
from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    POLRI,
    Evidence,
    ServiceEvidence,
)
from examples.eligibility.formula import decide, load_criteria
from examples.eligibility.ground_check import FieldAssumptions, Household, ground_check
from examples.eligibility.ground_check import render as render_field
from examples.eligibility.service import PURPOSE, SERVICES
from hub.dev.devstack import ELIGIBILITY_ID
from hub.pipeline.stages import WIB
from policies import load_policies

SCALE = 0.1
# Which of the population's registers each service reads.
REGISTER = {
    DTKS: "dtks",
    DUKCAPIL: "dukcapil",
    BPJSTK: "bpjstk",
    BPJS_KESEHATAN: "bpjs_kesehatan",
    ATR_BPN: "atr_bpn",
    POLRI: "polri",
    HIMBARA: "bank",
}


def _direct_evidence(population: Population, nik: str, today: datetime.date) -> Evidence:
    policies = load_policies()
    services = {}
    for service_id, fields in SERVICES.items():
        record = getattr(population, REGISTER[service_id]).get(nik)
        if record is None:
            services[service_id] = ServiceEvidence("no_record")
            continue
        decision = policies.decide(ELIGIBILITY_ID, PURPOSE, service_id, fields)
        released, details = {}, {}
        for name, rule in decision.releases.items():
            value = getattr(record, name)
            if value is not None:  # the agency leaves an empty field out
                released[name] = rule.apply(value, today=today)
                details[name] = rule.detail
        services[service_id] = ServiceEvidence("found", released, details)
    return Evidence(services)


def _expected_reports(today: datetime.date) -> tuple[str, str]:
    """Part two's and part three's tables, computed without the hub."""
    population = generate(2026, scale=SCALE)
    criteria = load_criteria()
    rows, decided = [], []
    for household in population.households:
        evidence = _direct_evidence(population, household.head.nik, today)
        dtks = population.dtks.get(household.head.nik)
        in_dtks = dtks is not None and dtks.in_dtks
        village, decision = household.village.name, decide(evidence, criteria)
        rows.append(Row(village, household.welfare, decision, in_dtks))
        household_id = f"{village}-{household.index}"
        decided.append(Household(household_id, village, household.welfare, decision))
    assumptions = FieldAssumptions()
    field = render_field(ground_check(decided, assumptions, seed=2026), assumptions)
    return render(evaluate(rows)), field


def test_demo_runs_everything_and_its_figures_match_ground_truth() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--scale", str(SCALE)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    today = datetime.datetime.now(WIB).date()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for reason in (
        "CONSENT_MISSING",
        "CONSENT_REVOKED",
        "FIELD_NOT_ALLOWED",
        "FIELD_NOT_CONSENTED",
        "UNKNOWN_SERVICE",
        "REPLAYED",
        "APPROVAL_REQUIRED",
    ):
        assert reason in out
    decisions, field = _expected_reports(today)
    assert decisions in out
    # Part three: the ground check over the same decisions, the review band's included.
    assert field in out
    assert re.search(r"All villages +\d+ +[1-9]\d* ", field) is not None
    audit = re.search(r"✓ audit log: (\d+) records for (\d+) exchanges and (\d+) consent", out)
    assert audit is not None
    records, exchanges, consent_calls = (int(audit.group(i)) for i in (1, 2, 3))
    households = len(generate(2026, scale=SCALE).households)
    assert exchanges == 15 + 7 * households
    # Part one: seven consents requested and granted, one revoked; part two: one grant each.
    assert consent_calls == 7 * 2 + 1 + households
    assert records == exchanges + consent_calls
    assert "applicants [" in result.stderr  # progress was shown
