"""Each anomaly flag raised by a crafted workload through a real hub, and not by the same
workload one short of its threshold: read back by ``jembatan audit anomalies`` as an
auditor, over the Audit API, with the thresholds in a YAML file."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from jembatan.audit.record import AuditRecord
from jembatan.client import QueryRefused
from tests.stack import ELIGIBILITY_ID, Stack, employment_query

# Every flag out of reach, but for the one a test sets: each test sees only its own flag.
LAX: dict[str, Any] = {
    "client_volume": {"min_calls": 100000},
    "refusal_burst": {"min_refusals": 100000},
    "office_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "00:00",
        "end": "24:00",
    },
    "subject_clients": {"max_clients": 100000},
    "subject_repeat": {"max_lookups": 100000},
    "officer_repeat": {"max_lookups": 100000},
    "consent_use": {"max_uses": 100000, "max_uses_per_purpose": {}},
}


def _thresholds(tmp_path: Path, changes: Mapping[str, Mapping[str, Any]]) -> Path:
    doc = {key: {**value, **changes.get(key, {})} for key, value in LAX.items()}
    path = tmp_path / f"thresholds-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def anomalies(
    stack: Stack, since: datetime.datetime, thresholds: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    """Exit status and JSON document of ``jembatan audit anomalies`` over the log since
    ``since``, run as a process, as an officer would."""
    stack.auditor()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "--home",
            str(stack.home.root),
            "audit",
            "anomalies",
            "--hub",
            stack.address,
            "--since",
            since.isoformat(),
            "--thresholds",
            str(thresholds),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert done.returncode == (1 if doc["flags"] else 0)
    return done.returncode, doc


def flags_of(doc: Mapping[str, Any], code: str) -> list[dict[str, Any]]:
    return [flag for flag in doc["flags"] if flag["code"] == code]


def indexes(stack: Stack, since: datetime.datetime, client: str) -> list[int]:
    """Log indexes of ``client``'s records since ``since``."""
    with stack.registry() as registry:
        found = []
        for index, _, data in registry.entries():
            record = AuditRecord.from_json(data)
            moment = datetime.datetime.fromisoformat(record.time)
            if moment >= since and record.client_id == client:
                found.append(index)
        return found


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def heads(stack: Stack, count: int, skip: int) -> list[str]:
    """NIKs of ``count`` household heads, different for each test (``skip``)."""
    return [h.members[0].nik for h in stack.population.households[skip : skip + count]]


async def refused_queries(stack: Stack, member: str, niks: Sequence[str]) -> None:
    """One query per NIK from ``member``, which has no consent: each refused."""
    stack.member(member)
    async with stack.client(member) as client:
        for nik in niks:
            with pytest.raises(QueryRefused):
                await employment_query(client, nik, "")


async def test_a_burst_of_refusals_for_one_client(stack: Stack, tmp_path: Path) -> None:
    since = now()
    nik = heads(stack, 1, 0)[0]
    await refused_queries(stack, "ID/GOV/TESTA/burst", [nik] * 4)
    await refused_queries(stack, "ID/GOV/TESTA/calm", [nik] * 3)
    thresholds = _thresholds(tmp_path, {"refusal_burst": {"within": "5m", "min_refusals": 4}})
    status, doc = anomalies(stack, since, thresholds)
    (flag,) = flags_of(doc, "refusal-burst")
    assert status == 1
    assert flag["about"] == "ID/GOV/TESTA/burst"
    assert flag["params"]["refusals"] == 4
    assert flag["records"] == indexes(stack, since, "ID/GOV/TESTA/burst")
    assert "refused 4 times within 5 minutes" in flag["explanation"]


async def test_a_clients_volume_far_above_its_own_baseline(stack: Stack, tmp_path: Path) -> None:
    bucket = 4.0
    # Start at a bucket's start: the baseline in one bucket, the burst in the next.
    time.sleep(bucket - time.time() % bucket + 0.05)
    since = now()
    nik = heads(stack, 1, 1)[0]
    for member in ("ID/GOV/TESTB/surge", "ID/GOV/TESTB/steady"):
        await refused_queries(stack, member, [nik] * 2)
    time.sleep(bucket - time.time() % bucket + 0.05)
    burst_from = now()
    await refused_queries(stack, "ID/GOV/TESTB/surge", [nik] * 5)  # above 2 times 2
    await refused_queries(stack, "ID/GOV/TESTB/steady", [nik] * 4)  # 2 times 2: not above
    assert time.time() % bucket > 0.05, "the workload overran its bucket: machine too slow"
    thresholds = _thresholds(
        tmp_path,
        {"client_volume": {"bucket": "4s", "baseline_buckets": 3, "factor": 2, "min_calls": 3}},
    )
    _, doc = anomalies(stack, since, thresholds)
    (flag,) = flags_of(doc, "client-volume")
    assert flag["about"] == "ID/GOV/TESTB/surge"
    assert (flag["params"]["calls"], flag["params"]["baseline_mean"]) == (5, 2.0)
    assert flag["records"] == indexes(stack, burst_from, "ID/GOV/TESTB/surge")


async def test_access_outside_office_hours(stack: Stack, tmp_path: Path) -> None:
    since = now()
    await refused_queries(stack, "ID/GOV/TESTC/night", heads(stack, 2, 2))
    today = now().astimezone(datetime.timezone(datetime.timedelta(hours=7))).date()
    # Office hours on every day but today (WIB): the calls just made are outside them.
    outside = {"holidays": [today]}
    _, doc = anomalies(
        stack, since, _thresholds(tmp_path, {"office_hours": {**outside, "min_calls": 2}})
    )
    (flag,) = [f for f in flags_of(doc, "off-hours") if f["about"] == "ID/GOV/TESTC/night"]
    assert flag["records"] == indexes(stack, since, "ID/GOV/TESTC/night")
    assert flag["params"]["timezone"] == "Asia/Jakarta"
    _, doc = anomalies(
        stack, since, _thresholds(tmp_path, {"office_hours": {**outside, "min_calls": 3}})
    )
    assert not [f for f in flags_of(doc, "off-hours") if f["about"] == "ID/GOV/TESTC/night"]


async def test_one_subject_looked_up_by_many_clients(stack: Stack, tmp_path: Path) -> None:
    since = now()
    wanted, other = heads(stack, 2, 4)
    for n in range(3):
        await refused_queries(stack, f"ID/GOV/TESTD/c{n}", [wanted])
    for n in range(2):
        await refused_queries(stack, f"ID/GOV/TESTD/c{n}", [other])
    thresholds = _thresholds(tmp_path, {"subject_clients": {"within": "1h", "max_clients": 2}})
    _, doc = anomalies(stack, since, thresholds)
    (flag,) = flags_of(doc, "subject-many-clients")
    assert flag["params"]["clients"] == 3
    assert len(flag["records"]) == 3
    # Named by its pseudonym only: the NIK appears nowhere in what an officer is shown.
    assert wanted not in json.dumps(doc)
    assert len(flag["about"]) == 64


async def test_one_subject_looked_up_repeatedly(stack: Stack, tmp_path: Path) -> None:
    since = now()
    wanted, other = heads(stack, 2, 6)
    await refused_queries(stack, "ID/GOV/TESTE/curious", [wanted] * 4 + [other] * 3)
    thresholds = _thresholds(tmp_path, {"subject_repeat": {"within": "1h", "max_lookups": 3}})
    _, doc = anomalies(stack, since, thresholds)
    (flag,) = flags_of(doc, "subject-repeated")
    assert (flag["params"]["client"], flag["params"]["lookups"]) == ("ID/GOV/TESTE/curious", 4)
    assert flag["records"] == indexes(stack, since, "ID/GOV/TESTE/curious")[:4]


async def test_an_officer_looking_up_one_subject_repeatedly(stack: Stack, tmp_path: Path) -> None:
    from jembatan.v1 import audit_pb2

    since = now()
    wanted, other = heads(stack, 2, 8)
    officer = stack.auditor()
    async with stack.client(officer) as client:
        for nik in [wanted] * 3 + [other] * 2:
            await client.search(audit_pb2.SearchRequest(subject=nik, limit=1))
    thresholds = _thresholds(tmp_path, {"officer_repeat": {"within": "1h", "max_lookups": 2}})
    _, doc = anomalies(stack, since, thresholds)
    (flag,) = flags_of(doc, "officer-repeated")
    assert (flag["about"], flag["params"]["lookups"]) == (officer, 3)
    assert flag["records"] == indexes(stack, since, officer)[:3]
    assert wanted not in json.dumps(doc)


async def test_a_consent_used_more_than_its_purpose_needs(stack: Stack, tmp_path: Path) -> None:
    since = now()
    nik = stack.people.employed
    overused, overused_id = stack.consent(nik)
    enough, _ = stack.consent(nik)
    async with stack.client() as client:
        for token in [overused] * 3 + [enough] * 2:
            await employment_query(client, nik, token)
    thresholds = _thresholds(
        tmp_path,
        {"consent_use": {"within": "1h", "max_uses_per_purpose": {"bansos-eligibility": 2}}},
    )
    _, doc = anomalies(stack, since, thresholds, "--lang", "id")
    (flag,) = flags_of(doc, "consent-overuse")
    assert (flag["about"], flag["params"]["uses"]) == (overused_id, 3)
    assert flag["records"] == indexes(stack, since, ELIGIBILITY_ID)[:3]
    assert "dipakai untuk 3 pertukaran" in flag["explanation"]


def test_no_flag_exits_zero_and_the_text_report_says_so(stack: Stack, tmp_path: Path) -> None:
    status, doc = anomalies(stack, now() - datetime.timedelta(seconds=1), _thresholds(tmp_path, {}))
    assert (status, doc["flags"]) == (0, [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("refusal_burst: {min_refusal: 3}\n", "unknown key 'refusal_burst.min_refusal'"),
        ("refusal_burst: {within: 10}\n", "refusal_burst.within: expected a duration"),
        ("office_hours: {start: '7am'}\n", 'office_hours.start: expected a time of day "HH:MM"'),
        ("office_hours: {timezone: Mars/Base}\n", "office_hours.timezone: expected an IANA"),
        ("client_volume: {factor: 1}\n", "client_volume.factor: expected a number above 1"),
        ("window: [\n", "not valid YAML (line 2)"),
    ],
)
def test_a_bad_thresholds_file_is_one_precise_line(
    stack: Stack, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "hub.cli", "--home", str(stack.home.root)),
            *("audit", "anomalies", "--hub", stack.address, "--thresholds", str(path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"{path}: {message}" in done.stderr
