"""Anomaly flags: patterns in the audit log an officer should look at, each with the records
behind it.

A flag is computed from the records of one time window and the thresholds alone (no clock,
no state), so anyone holding the log and the thresholds file gets the same flags; each names
its stable ``code``, what it is about, the figures that tripped it (``params``, which the
explanations in ``jembatan.insights.messages`` and the console's catalogues fill in) and the
indexes of the records behind it. Counts are of calls: a record that stands for several
(admission control's summary of a flood) counts as many.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from jembatan.insights.entries import Entry, utc
from jembatan.insights.thresholds import WEEKDAYS, Thresholds

K = TypeVar("K", bound=Hashable)

CLIENT_VOLUME = "client-volume"
REFUSAL_BURST = "refusal-burst"
OFF_HOURS = "off-hours"
SUBJECT_MANY_CLIENTS = "subject-many-clients"
SUBJECT_REPEATED = "subject-repeated"
OFFICER_REPEATED = "officer-repeated"
CONSENT_OVERUSE = "consent-overuse"
CODES = (
    CLIENT_VOLUME,
    REFUSAL_BURST,
    OFF_HOURS,
    SUBJECT_MANY_CLIENTS,
    SUBJECT_REPEATED,
    OFFICER_REPEATED,
    CONSENT_OVERUSE,
)

Param = str | int | float


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    # Whom or what it is about: a client's member id, a subject pseudonym, an officer, a
    # consent id (which, ``code`` says).
    about: str
    params: Mapping[str, Param]
    # Log indexes of the records behind the flag, in log order.
    records: tuple[int, ...]
    # RFC 3339 (UTC) times of the first and last of them.
    first: str
    last: str

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "about": self.about,
            "params": dict(self.params),
            "records": list(self.records),
            "first": self.first,
            "last": self.last,
        }


def anomalies(
    entries: Iterable[Entry], thresholds: Thresholds, *, start: float, end: float
) -> list[Flag]:
    """The flags raised by the records logged in [``start``, ``end``) (Unix seconds), in
    the order of ``CODES``, then of their first record."""
    window = sorted((e for e in entries if start <= e.at < end), key=lambda e: e.index)
    exchanges = [e for e in window if e.is_exchange]
    flags = [
        *_client_volume(window, thresholds, start),
        *_refusal_bursts(window, thresholds),
        *_off_hours(window, thresholds),
        *_subject_many_clients(exchanges, thresholds),
        *_repeats(
            exchanges,
            SUBJECT_REPEATED,
            key=lambda e: (e.record.subject, e.record.client_id) if e.record.subject else None,
            about=lambda k: k[0],
            params=lambda k: {"client": k[1]},
            within_s=thresholds.subject_repeat.within_s,
            limit=lambda _: thresholds.subject_repeat.limit,
            limit_name="max_lookups",
            count_name="lookups",
        ),
        *_repeats(
            [e for e in window if e.is_officer_lookup],
            OFFICER_REPEATED,
            key=lambda e: (e.officer, e.record.subject),
            about=lambda k: k[0],
            params=lambda k: {"subject": k[1]},
            within_s=thresholds.officer_repeat.within_s,
            limit=lambda _: thresholds.officer_repeat.limit,
            limit_name="max_lookups",
            count_name="lookups",
        ),
        *_repeats(
            [e for e in exchanges if e.record.consent_id and e.record.decision == "RELEASED"],
            CONSENT_OVERUSE,
            key=lambda e: (e.record.consent_id, e.record.purpose),
            about=lambda k: k[0],
            params=lambda k: {"purpose": k[1]},
            within_s=thresholds.consent_use.within_s,
            limit=lambda k: thresholds.consent_use.allowed(k[1]),
            limit_name="max_uses",
            count_name="uses",
        ),
    ]
    return sorted(flags, key=lambda f: (CODES.index(f.code), f.records[0], f.about))


def _flag(code: str, about: str, params: Mapping[str, Param], behind: Sequence[Entry]) -> Flag:
    ordered = sorted(behind, key=lambda e: e.index)
    return Flag(
        code,
        about,
        params,
        tuple(e.index for e in ordered),
        ordered[0].record.time,
        ordered[-1].record.time,
    )


def _grouped(entries: Iterable[Entry], key: Callable[[Entry], K | None]) -> dict[K, list[Entry]]:
    groups: dict[K, list[Entry]] = defaultdict(list)
    for e in entries:
        k = key(e)
        if k is not None:
            groups[k].append(e)
    return groups


def _densest(entries: Sequence[Entry], within_s: float) -> tuple[int, int, int]:
    """(calls, lo, hi): the most calls among ``entries`` (in time order) logged within any
    ``within_s`` seconds, and the slice [lo, hi) holding them (the earliest such slice)."""
    best = (0, 0, 0)
    total = lo = 0
    for hi, e in enumerate(entries):
        total += e.record.count
        while e.at - entries[lo].at >= within_s:
            total -= entries[lo].record.count
            lo += 1
        if total > best[0]:
            best = (total, lo, hi + 1)
    return best


def _by_time(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.at, e.index))


def _client_volume(window: Sequence[Entry], thresholds: Thresholds, start: float) -> list[Flag]:
    """Buckets (aligned to whole multiples of the bucket length since the epoch, so hours
    are whole hours) where a client's calls are at least min_calls and above factor times its
    mean over the baseline buckets before, counting only buckets from the window's start
    (the log before it was not read). A bucket without baseline buckets is not judged."""
    rule = thresholds.client_volume
    first_bucket = int(start // rule.bucket_s)
    flags = []
    for client, calls in _grouped(window, lambda e: e.record.client_id).items():
        buckets: dict[int, list[Entry]] = _grouped(calls, lambda e: int(e.at // rule.bucket_s))
        counts = {b: sum(e.record.count for e in es) for b, es in buckets.items()}
        for bucket, count in sorted(counts.items()):
            baseline = range(max(first_bucket, bucket - rule.baseline_buckets), bucket)
            if count < rule.min_calls or not baseline:
                continue
            mean = sum(counts.get(b, 0) for b in baseline) / len(baseline)
            if count > rule.factor * mean:
                params: dict[str, Param] = {
                    "calls": count,
                    "baseline_mean": round(mean, 2),
                    "baseline_buckets": len(baseline),
                    "factor": rule.factor,
                    "bucket_start": utc(bucket * rule.bucket_s).isoformat(),
                    "bucket_seconds": rule.bucket_s,
                }
                flags.append(_flag(CLIENT_VOLUME, client, params, buckets[bucket]))
    return flags


def _refusal_bursts(window: Sequence[Entry], thresholds: Thresholds) -> list[Flag]:
    rule = thresholds.refusal_burst
    refused = (e for e in window if e.record.decision == "REFUSED")
    flags = []
    for client, entries in _grouped(refused, lambda e: e.record.client_id).items():
        ordered = _by_time(entries)
        count, lo, hi = _densest(ordered, rule.within_s)
        if count >= rule.min_refusals:
            reasons = Counter(e.record.reason for e in ordered[lo:hi])
            params: dict[str, Param] = {
                "refusals": count,
                "within_seconds": rule.within_s,
                "min_refusals": rule.min_refusals,
                "top_reason": reasons.most_common(1)[0][0],
            }
            flags.append(_flag(REFUSAL_BURST, client, params, ordered[lo:hi]))
    return flags


def _off_hours(window: Sequence[Entry], thresholds: Thresholds) -> list[Flag]:
    hours = thresholds.office_hours
    # Office hours are whole minutes: judge each minute once, not each record.
    minutes: dict[int, bool] = {}
    for e in window:
        minute = int(e.at // 60)
        if minute not in minutes:
            minutes[minute] = hours.within(utc(minute * 60))
    outside = (e for e in window if not minutes[int(e.at // 60)])
    flags = []
    for client, entries in _grouped(outside, lambda e: e.record.client_id).items():
        calls = sum(e.record.count for e in entries)
        if calls >= hours.min_calls:
            params: dict[str, Param] = {
                "calls": calls,
                "timezone": hours.timezone,
                "start": hours.start.strftime("%H:%M"),
                "end": "24:00" if hours.end == datetime.time.max else hours.end.strftime("%H:%M"),
                "days": ",".join(WEEKDAYS[d] for d in sorted(hours.days)),
            }
            flags.append(_flag(OFF_HOURS, client, params, entries))
    return flags


def _subject_many_clients(exchanges: Sequence[Entry], thresholds: Thresholds) -> list[Flag]:
    """Subjects that more than max_clients different clients asked about within the
    window's length: the most clients at once, and the records of that stretch."""
    rule = thresholds.subject_clients
    flags = []
    for subject, entries in _grouped(exchanges, lambda e: e.record.subject or None).items():
        ordered = _by_time(entries)
        clients: Counter[str] = Counter()
        best = (0, 0, 0)
        lo = 0
        for hi, e in enumerate(ordered):
            clients[e.record.client_id] += 1
            while e.at - ordered[lo].at >= rule.within_s:
                gone = ordered[lo].record.client_id
                clients[gone] -= 1
                if not clients[gone]:
                    del clients[gone]
                lo += 1
            if len(clients) > best[0]:
                best = (len(clients), lo, hi + 1)
        distinct, lo, hi = best
        if distinct > rule.limit:
            params: dict[str, Param] = {
                "clients": distinct,
                "max_clients": rule.limit,
                "within_seconds": rule.within_s,
            }
            flags.append(_flag(SUBJECT_MANY_CLIENTS, subject, params, ordered[lo:hi]))
    return flags


def _repeats(
    entries: Sequence[Entry],
    code: str,
    *,
    key: Callable[[Entry], tuple[str, str] | None],
    about: Callable[[tuple[str, str]], str],
    params: Callable[[tuple[str, str]], dict[str, Param]],
    within_s: float,
    limit: Callable[[tuple[str, str]], int],
    limit_name: str,
    count_name: str,
) -> list[Flag]:
    """Keys seen more than ``limit`` times within ``within_s`` seconds."""
    flags = []
    for k, group in _grouped(entries, key).items():
        ordered = _by_time(group)
        count, lo, hi = _densest(ordered, within_s)
        if count > limit(k):
            figures: dict[str, Param] = {
                **params(k),
                count_name: count,
                limit_name: limit(k),
                "within_seconds": within_s,
            }
            flags.append(_flag(code, about(k), figures, ordered[lo:hi]))
    return flags
