"""An agency's field catalogue: which fields a service offers, of which type and sensitivity.

Agencies declare it (connector SDK), the hub registers and serves it (``Registry``), policies
are linted against it and administrators approve it (admin client): one shape for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["text", "integer", "flag", "number", "date"]
Sensitivity = Literal["public", "personal", "sensitive"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One entry of an agency's field catalogue."""

    name: str
    type: FieldType
    description: str
    sensitivity: Sensitivity
