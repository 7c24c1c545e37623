"""Part two of the demo: the eligibility service decides every household, through the hub.

Each household head is one applicant: one consent artefact covering the seven services,
seven legs in one fan-out, all applicants streamed over one bulk call. The decisions are
then set against the ground truth the simulator knows, and against DTKS alone.
"""

from __future__ import annotations

import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.population import Population
from examples.eligibility.evaluation import Row, evaluate, render
from examples.eligibility.evidence import DTKS, Evidence
from examples.eligibility.formula import load_criteria
from examples.eligibility.ground_check import Household
from examples.eligibility.service import SERVICES, EligibilityService
from hub.cli.progress import Progress
from hub.dev.devstack import signed_consent
from jembatan.client import HubClient


def _in_dtks(evidence: Evidence) -> bool | None:
    """What DTKS alone would say: listed, not listed, or (leg failed) unknown."""
    dtks = evidence.of(DTKS)
    if dtks.state == "unavailable":
        return None
    return dtks.state == "found" and dtks.fields.get("in_dtks") is True


async def run_eligibility(
    client: HubClient, portal: HubClient, consent_key: Ed25519PrivateKey, population: Population
) -> tuple[int, int, list[Household]]:
    """Decide every household; print the per-village report. Returns the exchanges made,
    the consent calls (grants) before them, and each household with its decision."""
    households = {f"{h.village.name}-{h.index}": h for h in population.households}
    # The Perlinsos portal records each applicant's consent to these seven checks and
    # registers it at the hub, which honours no artefact it was not given.
    consents = {
        h.head.nik: signed_consent(
            consent_key,
            h.head.nik,
            SERVICES,
            valid_for=datetime.timedelta(days=30),
            grantee=client.client_id,
        )
        for h in households.values()
    }
    grants = await portal.grant_consents(consents.values())
    service = EligibilityService(client, load_criteria(), consents.__getitem__)
    bar = Progress(len(households), "applicants")
    rows = []
    decided = []
    async for applicant_id, determination, evidence in service.run(
        ((applicant_id, h.head.nik) for applicant_id, h in households.items()),
        progress=lambda _: bar.advance(),
    ):
        household = households[applicant_id]
        village = household.village.name
        rows.append(Row(village, household.welfare, determination, _in_dtks(evidence)))
        decided.append(Household(applicant_id, village, household.welfare, determination))
    bar.close()
    print(render(evaluate(rows)))
    return len(households) * len(SERVICES), grants, decided
