"""Bulk re-verification benchmark: every household of the villages through the full pipeline.

For each population size, starts a fresh throw-away hub and the seven simulated agencies as
separate processes (``hub.devstack``), then re-verifies every household head over one bulk
stream: seven legs per applicant (DTKS, Dukcapil, BPJS Ketenagakerjaan, BPJS Kesehatan,
ATR/BPN, Polri, Himbara), each a signed, consented, policy-checked, audited exchange. Runs
the base size and ``--factor`` times more, to show how cost grows, and prints one JSON
object (progress on stderr):

    python bench/bulk.py --scale 0.1 --factor 10

``peak_rss_mb`` is each process's high-water mark (VmHWM): flat hub memory as the count
grows is what the bounded bulk stream is for. ``audit_complete`` checks the hub's log holds
one record per exchange.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from connectors.population import generate
from examples.eligibility.formula import load_criteria
from examples.eligibility.service import SERVICES, EligibilityService
from hub.cli.progress import Progress
from hub.dev import devstack
from hub.home import CONSENT_MANAGER_ID
from hub.store import open_store

SEED = 2026


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def _reverify(stack: devstack.DevStack, scale: float) -> dict[str, Any]:
    population = generate(SEED, scale=scale)
    heads = [h.head.nik for h in population.households]
    consent_key = stack.consent_key
    bar = Progress(len(heads), f"scale {scale}")
    statuses: Counter[str] = Counter()
    async with (
        stack.client(timeout_s=3600) as client,
        stack.client(CONSENT_MANAGER_ID, timeout_s=3600) as portal,
    ):
        # Consent is given (signed and granted at the hub by the portal) before the
        # eligibility service re-verifies anyone, so it is not timed: the hub honours only
        # artefacts it was given.
        consents = {
            nik: devstack.signed_consent(
                consent_key,
                nik,
                SERVICES,
                valid_for=datetime.timedelta(days=1),
                grantee=client.client_id,
            )
            for nik in heads
        }
        grants = await portal.grant_consents(consents.values())
        service = EligibilityService(client, load_criteria(), consents.__getitem__)
        applicants = (service.applicant(nik, f"a{i}") for i, nik in enumerate(heads))

        started = time.monotonic()
        answered = 0
        async for answer in client.bulk(applicants):
            answered += 1
            for leg in answer.legs:
                statuses["OK" if leg.refusal is None else leg.refusal.reason] += 1
            bar.advance()
        seconds = time.monotonic() - started
    bar.close()
    registry = open_store(stack.home)
    try:
        audited = registry.size()
    finally:
        registry.close()
    exchanges = len(heads) * len(SERVICES)
    return {
        "applicants": len(heads),
        "answered": answered,
        "agencies": len(SERVICES),
        "seconds": round(seconds, 2),
        "applicants_per_s": round(len(heads) / seconds, 1),
        "exchanges_per_s": round(exchanges / seconds, 1),
        "peak_rss_mb": {
            "hub": _peak_rss_mb(stack.hub.process.pid),
            "agencies": _peak_rss_mb(stack.agencies.process.pid),
            "client": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "leg_outcomes": dict(statuses),
        "consent_grants": grants,
        "audit_complete": audited == exchanges + grants,
    }


async def _run(scale: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="jembatan-bench-bulk-"))
    stack = None
    try:
        print(f"[bench] scale {scale}: starting hub and agencies", file=sys.stderr)
        stack = devstack.start(devstack.prepare_home(root), seed=SEED, scale=scale)
        return await _reverify(stack, scale)
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="base population scale")
    parser.add_argument("--factor", type=float, default=10, help="the larger run's multiple")
    args = parser.parse_args()
    base = asyncio.run(_run(args.scale))
    larger = asyncio.run(_run(args.scale * args.factor))
    result = {
        **base,
        f"x{args.factor:g}": larger,
        "growth": {
            "applicants": round(larger["applicants"] / base["applicants"], 2),
            "seconds": round(larger["seconds"] / base["seconds"], 2),
            "hub_peak_rss": round(larger["peak_rss_mb"]["hub"] / base["peak_rss_mb"]["hub"], 2),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
