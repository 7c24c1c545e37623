"""The subject of a query: a NIK, the 16-digit Indonesian population identity number."""

from __future__ import annotations

import re
from typing import TypeGuard

# [0-9], not \d: \d also matches non-ASCII digits, which are no NIK.
_NIK = re.compile(r"[0-9]{16}")


def is_nik(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and _NIK.fullmatch(text) is not None
