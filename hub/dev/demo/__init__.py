"""``jembatan demo``: the whole system on loopback, shown to a person.

A throw-away PKI; the hub and the seven simulated agencies of the pilot as separate
processes. Part one walks the secure path query by query, refusals included. Part two runs
the eligibility service over every household of Kemiren and Lateng through the hub and
compares its decisions with the ground truth and with DTKS alone. Part three puts the ground
check behind those decisions: which households an officer visits (refused consent, the
formula's review band, objections, reports) and how the errors change once the visits'
verdicts are applied, under stated assumptions. Last, the audit log is checked: one record
per exchange, and no NIK in the store.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from connectors.bpjstk.samples import sample_niks
from connectors.population import Population, generate
from examples.eligibility.ground_check import FieldAssumptions, ground_check
from examples.eligibility.ground_check import render as render_field
from hub.dev.demo.eligibility import run_eligibility
from hub.dev.demo.secure_path import SecurePath, run_secure_path
from hub.dev.devstack import SUPERVISOR_ID, DevStack, prepare_home, start
from hub.home import CONSENT_MANAGER_ID
from hub.store import open_store

SEED = 2026
_SIXTEEN_DIGITS = re.compile(rb"(?<!\d)\d{16}(?!\d)")


def _say(text: str) -> None:
    print(f"» {text}", flush=True)


def check_audit(stack: DevStack, expected: int, population: Population) -> list[str]:
    """Problems with the audit log, if any: record count, raw NIKs in the store."""
    problems = []
    registry = open_store(stack.home)
    try:
        size = registry.size()
    finally:
        registry.close()
    if size != expected:
        problems.append(f"audit log holds {size} records for {expected} audited calls")
    niks = {p.nik.encode() for p in population.people()}
    for path in stack.home.root.glob("hub.db*"):
        if niks & set(_SIXTEEN_DIGITS.findall(path.read_bytes())):
            problems.append(f"a raw NIK is in {path.name}")
    return problems


async def run_demo(*, keep: bool = False, scale: float = 1.0) -> int:
    root = Path(tempfile.mkdtemp(prefix="jembatan-demo-"))
    stack: DevStack | None = None
    try:
        _say(f"throw-away PKI in {root}: hub CA, hub and member certificates, keys")
        home = prepare_home(root)
        _say("starting the seven simulated agencies with their connectors, then the hub")
        stack = start(home, seed=SEED, scale=scale)
        population = generate(SEED, scale=scale)
        _say(f"hub on {stack.address}; {len(population.households)} households in the villages")

        print("\nPart one: the secure path, query by query\n")
        secure = SecurePath(stack.consent_key)
        async with (
            stack.client() as client,
            stack.client(CONSENT_MANAGER_ID) as portal,
            stack.client(SUPERVISOR_ID) as supervisor,
        ):
            await run_secure_path(secure, client, portal, supervisor, sample_niks(population))
        print(secure.table())

        print("\nPart two: bansos eligibility for every household, through the hub\n")
        async with (
            stack.client(timeout_s=600) as client,
            stack.client(CONSENT_MANAGER_ID, timeout_s=600) as portal,
        ):
            exchanges, grants, decided = await run_eligibility(
                client, portal, stack.consent_key, population
            )
        stack.stop()

        print("\nPart three: the ground check behind the system's decisions\n")
        assumptions = FieldAssumptions()
        print(render_field(ground_check(decided, assumptions, seed=SEED), assumptions))

        total = secure.exchanges + exchanges
        consent_calls = secure.consent_calls + grants
        problems = check_audit(stack, total + consent_calls, population)
        for problem in problems:
            print(f"✗ {problem}")
        if not problems:
            print(
                f"\n✓ audit log: {total + consent_calls} records for {total} exchanges and "
                f"{consent_calls} consent calls, refusals included; no NIK in the store"
            )
        return 1 if problems else 0
    finally:
        if stack is not None:
            stack.stop()
        if keep:
            print(f"home kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
