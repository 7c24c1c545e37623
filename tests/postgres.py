"""The tests' PostgreSQL: a fresh schema per test on the server at localhost:5432.

Tests that need it are marked ``postgres`` and FAIL (never skip) when it cannot be reached:
a missing server must not pass for a green run. ``$JEMBATAN_TEST_POSTGRES`` names another
server (a postgresql:// URL of a database the tests may create schemas in).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

ADMIN_DSN = os.environ.get("JEMBATAN_TEST_POSTGRES", "postgresql://postgres@localhost:5432/test")


def admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"these tests need PostgreSQL at {ADMIN_DSN} (start it: pg_ctlcluster"
            f" --skip-systemctl-redirect <version> main start): {exc}"
        )


def schema_dsn(schema: str) -> str:
    """A DSN whose sessions create and find every table in ``schema``."""
    separator = "&" if "?" in ADMIN_DSN else "?"
    return f"{ADMIN_DSN}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_schema(prefix: str = "jt") -> Iterator[str]:
    """The DSN of a new, empty schema, dropped afterwards: tests never see each other's
    data, and may run beside other suites on the same server."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with admin_connection() as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield schema_dsn(name)
    finally:
        with admin_connection() as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
