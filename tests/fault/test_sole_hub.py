"""One hub process per SQLite home: its replay guard lives in memory, so a second process on
the same file would answer a request the first already answered. The second refuses to
start, in one line; replicas share PostgreSQL instead (tests/replicas)."""

from __future__ import annotations

import subprocess
import sys

from tests.stack import Stack


def test_a_second_hub_on_the_same_sqlite_home_refuses_to_start(stack: Stack) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", str(stack.home.root), "serve",
         "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert "another hub process serves" in second.stderr
    assert "PostgreSQL" in second.stderr
