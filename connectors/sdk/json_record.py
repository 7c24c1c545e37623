"""Reading an agency's JSON record into typed values, refusing anything malformed.

A malformed record is the agency's fault, never released: each accessor raises
``AgencyUnavailable`` naming the field, not its value.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from connectors.sdk.agency import AgencyUnavailable


class JsonRecord:
    def __init__(self, agency: str, body: object) -> None:
        if not isinstance(body, Mapping):
            raise AgencyUnavailable(f"{agency} sent a malformed record: not an object")
        self._agency = agency
        self._body = body

    def _malformed(self, what: str) -> AgencyUnavailable:
        return AgencyUnavailable(f"{self._agency} sent a malformed record: {what}")

    def record(self, key: str) -> JsonRecord:
        """The nested object at ``key``."""
        raw = self._body.get(key)
        if not isinstance(raw, Mapping):
            raise self._malformed(f"{key} is not an object")
        return JsonRecord(self._agency, raw)

    def records(self, key: str) -> list[JsonRecord]:
        """The list of objects at ``key``."""
        raw = self._body.get(key)
        if not isinstance(raw, list):
            raise self._malformed(f"{key} is not a list")
        return [JsonRecord(self._agency, item) for item in raw]

    def require_subject(self, key: str, nik: str) -> None:
        """A record for someone else must never be released as this subject's."""
        if self._body.get(key) != nik:
            raise self._malformed("record is for another subject")

    def text(self, key: str) -> str:
        raw = self._body.get(key)
        if not isinstance(raw, str):
            raise self._malformed(f"{key} is not text")
        return raw

    def choice(self, key: str, mapping: Mapping[str, str]) -> str:
        """The agency's code for ``key`` translated through ``mapping``."""
        raw = self._body.get(key)
        if not isinstance(raw, str) or raw not in mapping:
            raise self._malformed(f"unknown {key}")
        return mapping[raw]

    def integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self._body.get(key)
        # bool is an int subclass; a JSON true is no number.
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
            raise self._malformed(f"{key} is not an integer >= {minimum}")
        if maximum is not None and raw > maximum:
            raise self._malformed(f"{key} is above {maximum}")
        return raw

    def optional_integer(self, key: str, *, minimum: int = 0) -> int | None:
        return None if self._body.get(key) is None else self.integer(key, minimum=minimum)

    def flag(self, key: str) -> bool:
        raw = self._body.get(key)
        if not isinstance(raw, bool):
            raise self._malformed(f"{key} is not true or false")
        return raw

    def coded_flag(self, key: str, *, yes: str, no: str) -> bool:
        """A flag the agency writes as two codes, e.g. "Y"/"T" (ya/tidak)."""
        raw = self._body.get(key)
        if raw not in (yes, no):
            raise self._malformed(f"{key} is neither {yes!r} nor {no!r}")
        return raw == yes

    def date(self, key: str, *, format: str = "%Y-%m-%d") -> datetime.date:
        raw = self._body.get(key)
        if not isinstance(raw, str):
            raise self._malformed(f"{key} is not a date")
        try:
            return datetime.datetime.strptime(raw, format).date()
        except ValueError:
            # Not chained: the ValueError quotes the value.
            raise self._malformed(f"{key} is not a date") from None

    def optional_date(self, key: str, *, format: str = "%Y-%m-%d") -> datetime.date | None:
        return None if self._body.get(key) in (None, "") else self.date(key, format=format)
