"""docs/contract.md lists every refusal reason with its number and gRPC status: the table
must say what the code does, no more and no less."""

from __future__ import annotations

import re
from pathlib import Path

from jembatan.v1 import common_pb2

try:  # the kernel's home of the error root
    from jembatan.errors import Refusal
except ImportError:  # before the kernel moved out of the server
    from hub.errors import Refusal  # type: ignore[no-redef]

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"
_ROW = re.compile(r"^\| `([A-Z_]+)` \| (\d+) \| `([A-Z_]+)` \|", re.M)


def test_reason_table_is_the_code() -> None:
    documented = {
        name: (int(number), status) for name, number, status in _ROW.findall(CONTRACT.read_text())
    }
    actual = {
        name: (number, Refusal(name, "-").status.name)
        for name, number in common_pb2.Reason.items()
        if number != common_pb2.REASON_UNSPECIFIED
    }
    assert documented == actual
