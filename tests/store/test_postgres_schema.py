"""PostgreSQL connections the hub cannot use are refused with a precise error (the schema
steps both engines share are tested in test_schema)."""

from __future__ import annotations

import pytest

from hub.store import open_store
from hub.store.base import StoreError
from tests.postgres import schema_dsn

pytestmark = pytest.mark.postgres


def test_a_missing_schema_is_refused() -> None:
    with pytest.raises(StoreError, match="search_path names no schema that exists"):
        open_store(schema_dsn("jt_no_such_schema"))


def test_connection_errors_name_the_server_but_never_the_password() -> None:
    with pytest.raises(StoreError) as error:
        open_store("postgresql://hub:s3cr3t-pw@127.0.0.1:1/jembatan")
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/jembatan" in str(error.value)
    assert "s3cr3t-pw" not in str(error.value)


def test_only_postgresql_urls_are_taken() -> None:
    with pytest.raises(StoreError, match=r"mysql://…: expected a postgresql:// DSN"):
        open_store("mysql://root@localhost/hub")
