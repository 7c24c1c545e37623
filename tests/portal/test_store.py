"""The portal's store on both engines, migrated by the hub's scheme with its own steps and
version table: opened twice it migrates once; beside the hub's tables in one PostgreSQL
schema it touches none of them; a store newer than the portal is refused, untouched; an
application is found only with its own account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import open_store
from portal.store import STEPS, Account, Application, PortalStoreError, open_portal_store
from tests.portal.conftest import citizens, start_portal
from tests.portal.http import browser_session
from tests.postgres import admin_connection, fresh_schema
from tests.stack import Stack


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "portal.db")
    else:
        with fresh_schema("portal") as dsn:
            yield dsn


def _application(app_id: str, account: str) -> Application:
    return Application(app_id, account, "consent_pending", "{}", "", "", None, 1, 1)


def test_migrated_once_and_applications_found_only_with_their_account(location: str) -> None:
    for _ in range(2):
        store = open_portal_store(location)
        store.close()
    store = open_portal_store(location)
    try:
        store.add_application(_application("a1", "alice"))
        assert store.application("a1", "alice") is not None
        assert store.application("a1", "bob") is None
        assert store.move_application("a1", was="consent_pending", status="decided", now=2)
        # The same move twice: the second finds it no longer waiting, and changes nothing.
        assert not store.move_application("a1", was="consent_pending", status="ground_check", now=3)
        moved = store.application("a1", "alice")
        assert moved is not None and moved.status == "decided"
        versions = store._db.execute("SELECT version FROM portal_schema_version").fetchall()
        assert [row[0] for row in versions] == [step.version for step in STEPS]
    finally:
        store.close()


def test_the_cursor_of_accesses_told_moves_once_and_forward(location: str) -> None:
    store = open_portal_store(location)
    try:
        for account_id in ("old", "new"):
            store.add_account(Account(account_id, f"key-{account_id}", b"sealed", 1))
        assert store.data_seen("old") is None
        assert store.advance_data_seen("old", None, 7, now=100)
        # Two looks racing over the same accesses: the second finds the cursor moved.
        assert not store.advance_data_seen("old", None, 7, now=101)
        assert store.advance_data_seen("old", 7, 9, now=102)
        assert not store.advance_data_seen("old", 7, 12, now=103)
        assert store.data_seen("old") == 9
        # The watch asks about those never looked for first, then the longest ago.
        assert store.accounts_by_last_check(10) == ["new", "old"]
        assert store.accounts_by_last_check(1) == ["new"]
    finally:
        store.close()


def test_a_store_newer_than_the_portal_is_refused(location: str) -> None:
    store = open_portal_store(location)
    store._db.execute(
        "INSERT INTO portal_schema_version (version, description) VALUES (?, ?)",
        (len(STEPS) + 1, "from a newer portal"),
    )
    store.close()
    with pytest.raises(PortalStoreError, match="newer than this portal"):
        open_portal_store(location)


@pytest.mark.postgres
def test_beside_the_hubs_tables_in_one_postgresql_schema(tmp_path: Path) -> None:
    with fresh_schema("both") as dsn:
        hub = open_store(dsn)
        portal = open_portal_store(dsn)
        portal.close()
        hub.close()
        schema = dsn.rpartition("%3D")[2]
        with admin_connection() as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                )
            }
        assert {"schema_version", "portal_schema_version", "portal_accounts"} <= tables
        assert "consents" in tables  # the hub's own, left as they were


@pytest.mark.postgres
async def test_the_portal_process_on_postgresql(stack: Stack, tmp_path: Path) -> None:
    with fresh_schema("portalrun") as dsn:
        running = start_portal(stack, tmp_path, "--store", dsn)
        try:
            nik, _phone = citizens(stack, 25)[24]
            async for citizen in browser_session(running):
                await citizen.get("/masuk")
                await citizen.post("/masuk", {"nik": nik})
                store = open_portal_store(dsn)
                try:
                    (sms,) = store.outbox()  # the code went to the PostgreSQL outbox
                    code = sms.body.split(": ", 1)[1][:6]
                finally:
                    store.close()
                signed = await citizen.post("/masuk/kode", {"code": code})
                assert signed.url.path == "/beranda"
                application = await citizen.apply()
                await citizen.post(f"/permohonan/{application}/persetujuan", {"choice": "refuse"})
            assert not (tmp_path / "state" / "portal.db").exists()
            with admin_connection() as conn:
                schema = dsn.rpartition("%3D")[2]
                (status,) = conn.execute(
                    f'SELECT status FROM "{schema}".portal_applications WHERE id = %s',
                    (application,),
                ).fetchone()
            assert status == "ground_check"
        finally:
            running.process.stop()
