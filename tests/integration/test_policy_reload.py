"""Hot policy reload in a real hub process under concurrent queries: a changed file (or SIGHUP)
puts the new policy in force without dropping a query, each query is decided, transformed and
audited under one version, and a broken file leaves the last good policy in force."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from policies import load_policies
from tests.stack import EMPLOYMENT_SERVICE, Stack, employment_query, start_stack

WORKERS = 8
# The everyday rule releases the status raw; the new one only says whether it is "active".
OLD_STATUS = "      employment_status: raw\n"
NEW_STATUS = "      employment_status:\n        predicate: {eq: active}\n"
TREATMENT_OF = {"old": "raw", "new": "predicate"}


@dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    version: str
    treatment: str
    log_index: int


def replace_file(path: Path, text: str) -> None:
    """Write as a deployment tool does: a whole new file renamed into place."""
    staging = path.with_suffix(".staging")
    staging.write_text(text)
    os.replace(staging, path)


def change_status_treatment(directory: Path) -> tuple[str, str]:
    """Rewrite the BPJSTK policy; (old version, new version)."""
    path = directory / "bansos-bpjstk.yaml"
    old = load_policies(directory).version
    text = path.read_text()
    assert OLD_STATUS in text
    replace_file(path, text.replace(OLD_STATUS, NEW_STATUS, 1))
    return old, load_policies(directory).version


async def under_load(
    stack: Stack, action: Callable[[list[Outcome]], Awaitable[None]]
) -> list[Outcome]:
    """Run ``action`` while WORKERS clients query back to back; every query must be answered."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    outcomes: list[Outcome] = []
    done = asyncio.Event()
    async with stack.client() as client:

        async def worker() -> None:
            while not done.is_set():
                started = time.monotonic()
                answer = await employment_query(client, nik, token)
                status = answer.fields["employment_status"]
                outcomes.append(
                    Outcome(
                        started,
                        time.monotonic(),
                        answer.policy_version,
                        status.treatment,
                        answer.log_index,
                    )
                )

        workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
        try:
            await action(outcomes)
        finally:
            done.set()
            # A refused, failed or dropped query raises here and fails the test.
            await asyncio.gather(*workers)
    return outcomes


async def reload_under_load(
    stack: Stack, action: Callable[[list[Outcome]], Awaitable[None]], versions: dict[str, str]
) -> list[Outcome]:
    """``under_load``, then the stack stopped; each answer checked consistent with its
    policy version and audited under it (``versions`` as ``action`` filled them in)."""
    try:
        first_index = stack.log_size()
        outcomes = await under_load(stack, action)
    finally:
        stack.hub.stop()
        stack.sim.stop()
    check_consistent_and_audited(stack, first_index, outcomes, versions)
    return outcomes


def check_consistent_and_audited(
    stack: Stack, first_index: int, outcomes: list[Outcome], versions: dict[str, str]
) -> None:
    """Each answer's treatment is its version's, and the log holds exactly these exchanges,
    each under the version its answer names, the old policy first and the new one last."""
    name_of = {version: name for name, version in versions.items()}
    for outcome in outcomes:
        assert outcome.version in name_of
        assert outcome.treatment == TREATMENT_OF[name_of[outcome.version]]
    # The exchanges' records: the consent's grant before them leaves one of its own.
    by_index = {
        first_index + offset: record
        for offset, record in enumerate(stack.records(first_index))
        if record.service_id == EMPLOYMENT_SERVICE
    }
    records = list(by_index.values())
    assert len(records) == len(outcomes)
    for outcome in outcomes:
        assert by_index[outcome.log_index].policy_version == outcome.version
    assert records[0].policy_version == versions["old"]
    assert records[-1].policy_version == versions["new"]


async def until(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> float:
    """Wait for ``condition`` (not for a time): the moment it was seen to hold."""
    give_up = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic()


def answered(outcomes: list[Outcome], version: str) -> Callable[[], bool]:
    return lambda: any(o.version == version for o in outcomes)


def check_switched_once(outcomes: list[Outcome], old: str, new: str, before: float) -> None:
    """Answers finished before ``before`` are old; once a new one is seen, every query that
    started after it is new: the switch happens once and never goes back."""
    assert {o.version for o in outcomes if o.ended < before} == {old}
    first_new = min(o.ended for o in outcomes if o.version == new)
    later = [o for o in outcomes if o.started > first_new]
    assert later and {o.version for o in later} == {new}


async def test_a_changed_file_is_put_in_force_and_a_broken_one_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Started here, not as a shared fixture: this test edits the policy files, and the hub's
    # log (stderr) then goes to this test's captured output.
    stack = start_stack(tmp_path / "hub")
    directory = tmp_path / "hub" / "policies"
    broken = directory / "bansos-zz-draft.yaml"
    versions: dict[str, str] = {}
    marks: dict[str, float] = {}
    hub_log: list[str] = []

    def refused_logged() -> bool:
        hub_log.append(capfd.readouterr().err)
        return "reload refused" in "".join(hub_log)

    async def edit(outcomes: list[Outcome]) -> None:
        await until(lambda: len(outcomes) >= 20, "the load to run")
        marks["changed"] = time.monotonic()
        versions["old"], versions["new"] = change_status_treatment(directory)
        await until(answered(outcomes, versions["new"]), "an answer under the new policy")
        replace_file(
            broken,
            "rules:\n  - client: C\n    purpose: P\n    service: S\n"
            "    fields:\n      a: shredded\n",
        )
        marks["refused"] = await until(refused_logged, "the broken file to be refused")
        settled = len(outcomes)
        await until(lambda: len(outcomes) >= settled + 40, "answers after the refusal")

    outcomes = await reload_under_load(stack, edit, versions)
    check_switched_once(outcomes, versions["old"], versions["new"], marks["changed"])
    # The broken draft changed nothing: the last good policy stayed in force.
    assert {o.version for o in outcomes if o.started > marks["refused"]} == {versions["new"]}
    hub_log.append(capfd.readouterr().err)
    refusals = [line for line in "".join(hub_log).splitlines() if "reload refused" in line]
    assert len(refusals) == 1, refusals  # logged once, not on every poll
    assert f"{broken}:6: unknown treatment 'shredded' for field 'a'" in refusals[0]
    assert versions["new"] in refusals[0]
    # The change itself is told at the default level (no -v): it changes what is released.
    switched = f"policy {versions['new']} in force (was {versions['old']})"
    assert switched in "".join(hub_log), hub_log


async def test_sighup_reloads_when_polling_is_off(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "hub", hub_args=["--policy-poll", "0"])
    directory = tmp_path / "hub" / "policies"
    versions: dict[str, str] = {}
    marks: dict[str, float] = {}

    async def edit_then_hang_up(outcomes: list[Outcome]) -> None:
        await until(lambda: len(outcomes) >= 20, "the load to run")
        versions["old"], versions["new"] = change_status_treatment(directory)
        # Time for a poll, were there one (the default polls every second): none may come.
        await asyncio.sleep(2.5)
        marks["hangup"] = time.monotonic()
        stack.hub.process.send_signal(signal.SIGHUP)
        await until(answered(outcomes, versions["new"]), "an answer under the new policy")
        settled = len(outcomes)
        await until(lambda: len(outcomes) >= settled + 40, "answers after the reload")

    outcomes = await reload_under_load(stack, edit_then_hang_up, versions)
    check_switched_once(outcomes, versions["old"], versions["new"], marks["hangup"])
