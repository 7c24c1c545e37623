"""The anomaly flags' thresholds: a YAML file, checked key by key.

The shipped defaults are ``anomalies.yaml`` beside this module; an operator's file (the
home's ``anomalies.yaml``, or one named on the command line) changes any of its keys and
keeps the rest. A key that is unknown, of the wrong type or out of range is an error naming
the file, the key and what was expected: thresholds that are silently ignored would make a
quiet console look like a clean log.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from jembatan.errors import JembatanError

DEFAULT_FILE = Path(__file__).with_name("anomalies.yaml")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# "24:00" ends the hours at midnight: the whole of the day's last minute is inside them.
_MIDNIGHT = "24:00"


class ThresholdsError(JembatanError):
    """A thresholds file that cannot be used, explained in one line."""


@dataclass(frozen=True, slots=True)
class ClientVolume:
    bucket_s: float
    baseline_buckets: int
    factor: float
    min_calls: int


@dataclass(frozen=True, slots=True)
class RefusalBurst:
    within_s: float
    min_refusals: int


@dataclass(frozen=True, slots=True)
class OfficeHours:
    timezone: str
    days: frozenset[int]  # datetime.weekday(): Monday is 0
    start: datetime.time
    end: datetime.time
    holidays: frozenset[datetime.date]
    min_calls: int

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def within(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` (aware) falls in office hours, in the office's time zone."""
        local = moment.astimezone(self.zone)
        return (
            local.weekday() in self.days
            and local.date() not in self.holidays
            and self.start <= local.time() < self.end
        )


@dataclass(frozen=True, slots=True)
class Repeats:
    """At most ``limit`` of something within ``within_s`` seconds."""

    within_s: float
    limit: int


@dataclass(frozen=True, slots=True)
class ConsentUse:
    within_s: float
    max_uses: int
    max_uses_per_purpose: Mapping[str, int]

    def allowed(self, purpose: str) -> int:
        return self.max_uses_per_purpose.get(purpose, self.max_uses)


@dataclass(frozen=True, slots=True)
class Thresholds:
    window_s: float
    client_volume: ClientVolume
    refusal_burst: RefusalBurst
    office_hours: OfficeHours
    subject_clients: Repeats
    subject_repeat: Repeats
    officer_repeat: Repeats
    consent_use: ConsentUse


def parse_duration(text: str) -> float | None:
    """Seconds of a duration such as 30s, 10m, 24h or 7d; None if ``text`` is not one."""
    match = _DURATION.match(text)
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The shipped thresholds, changed by the file at ``path`` if given."""
    defaults = _read(DEFAULT_FILE)
    if path is None:
        return _build(defaults, str(DEFAULT_FILE))
    return _build(_merged(defaults, _read(path), str(path), ""), str(path))


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdsError(f"cannot read the thresholds file {path}: {exc.strerror}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ThresholdsError(f"{path}: not valid YAML{where}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ThresholdsError(f"{path}: expected a mapping of thresholds at the top")
    return doc


def _merged(base: dict[str, Any], changes: dict[str, Any], source: str, prefix: str) -> dict:
    """``base`` with ``changes`` laid over it, refusing keys ``base`` does not have (except
    under ``max_uses_per_purpose``, whose keys are the purposes)."""
    merged = dict(base)
    for key, value in changes.items():
        name = f"{prefix}{key}"
        if key not in base:
            known = ", ".join(sorted(base)) or "none"
            raise ThresholdsError(f"{source}: unknown key {name!r} (known here: {known})")
        if isinstance(base[key], dict) and key != "max_uses_per_purpose":
            if not isinstance(value, dict):
                raise ThresholdsError(f"{source}: {name}: expected a mapping of its keys")
            merged[key] = _merged(base[key], value, source, f"{name}.")
        else:
            merged[key] = value
    return merged


class _Reader:
    """Typed values out of one section, each error naming the file and the key."""

    def __init__(self, doc: Mapping[str, Any], source: str, section: str = "") -> None:
        self._doc = doc
        self._source = source
        self._section = section

    def section(self, key: str) -> _Reader:
        value = self._doc.get(key)
        if not isinstance(value, dict):
            self._fail(key, "expected a mapping of its keys", value)
        return _Reader(value, self._source, f"{self._section}{key}.")

    def _fail(self, key: str, expected: str, value: object) -> NoReturn:
        raise ThresholdsError(f"{self._source}: {self._section}{key}: {expected}, got {value!r}")

    def duration(self, key: str) -> float:
        value = self._doc.get(key)
        seconds = (parse_duration(value) if isinstance(value, str) else None) or 0.0
        if seconds <= 0:
            self._fail(key, "expected a duration above zero such as 30s, 10m, 24h or 7d", value)
        return seconds

    def whole(self, key: str, minimum: int = 1) -> int:
        value = self._doc.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self._fail(key, f"expected a whole number of at least {minimum}", value)
        return int(value)

    def number_above_one(self, key: str) -> float:
        value = self._doc.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 1:
            self._fail(key, "expected a number above 1", value)
        return float(value)

    def clock(self, key: str) -> datetime.time:
        value = self._doc.get(key)
        if value == _MIDNIGHT and key == "end":
            return datetime.time.max
        match = _CLOCK.match(value) if isinstance(value, str) else None
        if match is None:
            self._fail(
                key, 'expected a time of day "HH:MM" (quoted; the end may be "24:00")', value
            )
        return datetime.time(int(match.group(1)), int(match.group(2)))

    def timezone(self, key: str) -> str:
        value = self._doc.get(key)
        try:
            zoneinfo.ZoneInfo(str(value))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self._fail(key, "expected an IANA time zone such as Asia/Jakarta", value)
        return str(value)

    def days(self, key: str) -> frozenset[int]:
        value = self._doc.get(key)
        if not isinstance(value, list) or any(day not in WEEKDAYS for day in value):
            self._fail(key, f"expected a list of days from {', '.join(WEEKDAYS)}", value)
        return frozenset(WEEKDAYS.index(day) for day in value)

    def dates(self, key: str) -> frozenset[datetime.date]:
        value = self._doc.get(key)
        if not isinstance(value, list) or not all(
            isinstance(day, datetime.date) and not isinstance(day, datetime.datetime)
            for day in value
        ):
            self._fail(key, "expected a list of dates YYYY-MM-DD", value)
        return frozenset(value)

    def per_purpose(self, key: str) -> dict[str, int]:
        value = self._doc.get(key)
        if not isinstance(value, dict):
            self._fail(key, "expected a mapping of purpose codes to whole numbers", value)
        purposes = _Reader(value, self._source, f"{self._section}{key}.")
        return {str(purpose): purposes.whole(purpose) for purpose in value}


def _build(doc: dict[str, Any], source: str) -> Thresholds:
    top = _Reader(doc, source)
    volume = top.section("client_volume")
    burst = top.section("refusal_burst")
    hours = top.section("office_hours")
    consent = top.section("consent_use")
    office = OfficeHours(
        timezone=hours.timezone("timezone"),
        days=hours.days("days"),
        start=hours.clock("start"),
        end=hours.clock("end"),
        holidays=hours.dates("holidays"),
        min_calls=hours.whole("min_calls"),
    )
    if office.end <= office.start:
        raise ThresholdsError(f"{source}: office_hours: end must be later than start")
    return Thresholds(
        window_s=top.duration("window"),
        client_volume=ClientVolume(
            bucket_s=volume.duration("bucket"),
            baseline_buckets=volume.whole("baseline_buckets"),
            factor=volume.number_above_one("factor"),
            min_calls=volume.whole("min_calls"),
        ),
        refusal_burst=RefusalBurst(burst.duration("within"), burst.whole("min_refusals")),
        office_hours=office,
        subject_clients=_repeats(top, "subject_clients", "max_clients"),
        subject_repeat=_repeats(top, "subject_repeat", "max_lookups"),
        officer_repeat=_repeats(top, "officer_repeat", "max_lookups"),
        consent_use=ConsentUse(
            within_s=consent.duration("within"),
            max_uses=consent.whole("max_uses"),
            max_uses_per_purpose=consent.per_purpose("max_uses_per_purpose"),
        ),
    )


def _repeats(top: _Reader, name: str, limit: str) -> Repeats:
    section = top.section(name)
    return Repeats(section.duration("within"), section.whole(limit))
