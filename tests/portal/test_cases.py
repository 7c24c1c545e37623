"""A case's tamper-evident history, through the store's real database on both engines: it
verifies as written; a changed entry, the last entry deleted, two entries swapped, an entry
rewritten with its own hash recomputed, a head moved without the key — each is detected and
named; `jembatan portal cases verify` says so in one line and exit code. Racing moves of a
case: one wins. No NIK ever enters a history."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal import cases
from portal.cases import ASSIGNED, OPEN, HistoryBroken, append, open_case, verify_case
from portal.store import Case, PortalStore, open_portal_store
from tests.postgres import fresh_schema
from tests.stack import Stack

KEY = Ed25519PrivateKey.generate()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "portal.db")
    else:
        with fresh_schema("cases") as dsn:
            yield dsn


@pytest.fixture
def store(location: str) -> Iterator[PortalStore]:
    opened = open_portal_store(location)
    yield opened
    opened.close()


def a_case(store: PortalStore, steps: int = 4) -> Case:
    """A case of ``steps`` entries: opened, taken, visited, closed."""
    case = open_case(
        store,
        KEY,
        kind="consent_refused",
        village="Kemiren",
        application_id="app-1",
        account_id="acct-1",
        details={"application": "app-1"},
    )
    moves = [
        ("taken", {"role": "pendamping"}, ASSIGNED),
        ("visited", {"met": "head", "checks": [{"criterion": "car", "observed": "absent"}]}, None),
        ("closed", {"outcome": "layak", "signed_by": "ptg-abcdef"}, "selesai"),
    ]
    for action, details, status in moves[: steps - 1]:
        assert append(
            store, KEY, case.id, actor="ptg-abcdef", action=action, details=details, status=status
        )
    return case


def test_a_history_verifies_as_written(store: PortalStore) -> None:
    case = a_case(store)
    assert verify_case(store, KEY.public_key(), case.id) == 4
    stored = store.case(case.id)
    assert stored is not None and stored.status == "selesai" and stored.head_length == 4
    entries = store.case_entries(case.id)
    assert [e.action for e in entries] == ["opened", "taken", "visited", "closed"]
    assert entries[0].actor == "sistem" and entries[1].actor == "ptg-abcdef"
    # Each entry names the one before it.
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]


def _broken(store: PortalStore, case: Case) -> HistoryBroken:
    with pytest.raises(HistoryBroken) as caught:
        verify_case(store, KEY.public_key(), case.id)
    return caught.value


def test_a_changed_entry_is_detected(store: PortalStore) -> None:
    case = a_case(store)
    store._db.execute(
        "UPDATE portal_case_entries SET details = ? WHERE case_id = ? AND seq = 3",
        ('{"checks":[{"criterion":"car","observed":"present"}],"met":"head"}', case.id),
    )
    problem = _broken(store, case)
    assert problem.seq == 3 and "changed" in str(problem) and case.id in str(problem)


def test_a_changed_actor_is_detected(store: PortalStore) -> None:
    case = a_case(store)
    store._db.execute(
        "UPDATE portal_case_entries SET actor = 'ptg-zzzzzz' WHERE case_id = ? AND seq = 4",
        (case.id,),
    )
    assert _broken(store, case).seq == 4


def test_deleting_the_last_entry_is_detected(store: PortalStore) -> None:
    case = a_case(store)
    store._db.execute("DELETE FROM portal_case_entries WHERE case_id = ? AND seq = 4", (case.id,))
    problem = _broken(store, case)
    assert problem.seq == 4 and "missing" in str(problem)


def test_reordering_entries_is_detected(store: PortalStore) -> None:
    case = a_case(store)
    for was, becomes in ((2, -1), (3, 2), (-1, 3)):
        store._db.execute(
            "UPDATE portal_case_entries SET seq = ? WHERE case_id = ? AND seq = ?",
            (becomes, case.id, was),
        )
    problem = _broken(store, case)
    assert problem.seq == 2 and "reordered" in str(problem)


def test_an_entry_rewritten_with_its_hash_recomputed_breaks_the_next_link(
    store: PortalStore,
) -> None:
    case = a_case(store)
    (entry,) = [e for e in store.case_entries(case.id) if e.seq == 2]
    forged = cases.entry_hash(
        case_id=case.id,
        seq=2,
        at=entry.at,
        actor="ptg-zzzzzz",
        on_behalf_of="",
        action="taken",
        details={"role": "pendamping"},
        prev_hash=entry.prev_hash,
    )
    store._db.execute(
        "UPDATE portal_case_entries SET actor = 'ptg-zzzzzz', hash = ? WHERE case_id = ?"
        " AND seq = 2",
        (forged, case.id),
    )
    problem = _broken(store, case)
    assert problem.seq == 3 and "does not follow entry 2" in str(problem)


def test_a_head_moved_without_the_key_is_detected(store: PortalStore) -> None:
    case = a_case(store)
    # Cut the last entry and point the head at the one before, without the signing key.
    entries = store.case_entries(case.id)
    store._db.execute("DELETE FROM portal_case_entries WHERE case_id = ? AND seq = 4", (case.id,))
    store._db.execute(
        "UPDATE portal_cases SET head_length = 3, head_hash = ? WHERE id = ?",
        (entries[2].hash, case.id),
    )
    problem = _broken(store, case)
    assert problem.seq is None and "signed head does not verify" in str(problem)


def test_only_one_of_two_racing_moves_wins(store: PortalStore) -> None:
    case = a_case(store, steps=1)
    first = append(
        store, KEY, case.id, actor="ptg-aaaaaa", action="taken", was_status=[OPEN], status=ASSIGNED
    )
    second = append(
        store, KEY, case.id, actor="ptg-bbbbbb", action="taken", was_status=[OPEN], status=ASSIGNED
    )
    assert first is not None and second is None
    assert verify_case(store, KEY.public_key(), case.id) == 2


def test_no_nik_enters_a_history(store: PortalStore) -> None:
    case = a_case(store, steps=1)
    for details in ({"note": "NIK 3510012345678901"}, {"checks": [{"note": "3510012345678901"}]}):
        with pytest.raises(ValueError, match="may hold a NIK"):
            append(store, KEY, case.id, actor="ptg-aaaaaa", action="note", details=details)
    assert len(store.case_entries(case.id)) == 1


def _verify(
    stack: Stack, location: str, public: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", str(stack.home.root), "portal", "cases",
         "verify", "--store", location, "--public-key", str(public), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_the_operators_verify_command(stack: Stack, tmp_path: Path) -> None:
    location = str(tmp_path / "portal.db")
    public = tmp_path / "cases.pub"
    public.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    store = open_portal_store(location)
    try:
        good, bad = a_case(store), a_case(store)
    finally:
        store.close()
    verified = _verify(stack, location, public)
    assert verified.returncode == 0, verified.stderr
    assert "2 case histories verified (8 entries): intact" in verified.stdout
    store = open_portal_store(location)
    try:
        store._db.execute(
            "UPDATE portal_case_entries SET action = 'reopened' WHERE case_id = ? AND seq = 2",
            (bad.id,),
        )
    finally:
        store.close()
    broken = _verify(stack, location, public)
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        f"jembatan: history broken: case {bad.id} entry 2: changed after it was written"
    )
    assert _verify(stack, location, public, "--case", good.id).returncode == 0
    unknown = _verify(stack, location, public, "--case", "nope")
    assert unknown.returncode == 2 and unknown.stderr.strip() == "jembatan: no case nope"
