"""docs/contract.md lists every refusal reason with its number, gRPC status and category: the
table must say what the code does, no more and no less."""

from __future__ import annotations

import re
from pathlib import Path

from jembatan.errors import CATEGORY_OF_REASON, STATUS_OF_REASON
from jembatan.v1 import common_pb2

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"
_ROW = re.compile(r"^\| `([A-Z_]+)` \| (\d+) \| `([A-Z_]+)` \| `([A-Z_]+)` \|", re.M)


def test_reason_table_is_the_code() -> None:
    documented = {
        name: (int(number), status, category)
        for name, number, status, category in _ROW.findall(CONTRACT.read_text())
    }
    actual = {
        name: (number, STATUS_OF_REASON[name], CATEGORY_OF_REASON[name])
        for name, number in common_pb2.Reason.items()
        if number != common_pb2.REASON_UNSPECIFIED
    }
    assert documented == actual
