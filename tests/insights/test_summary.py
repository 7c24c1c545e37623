"""The dashboard's figures from a crafted log: each exchange counted once, in its hour and
kind; the hub's own calls left out; ties ordered the same for everyone."""

from __future__ import annotations

import datetime

from jembatan.audit.record import AuditRecord
from jembatan.insights.entries import entries_of
from jembatan.insights.summary import checkpoint_lag, summarise

T0 = datetime.datetime(2026, 8, 17, 1, 0, tzinfo=datetime.UTC)


def _record(minute: int, client: str, service: str, reason: str = "", **more: object) -> bytes:
    status = {"": "OK", "CONSENT_MISSING": "PERMISSION_DENIED"}.get(reason, "UNAVAILABLE")
    fields = {
        "time": (T0 + datetime.timedelta(minutes=minute)).isoformat(timespec="milliseconds"),
        "request_id": "",
        "client_id": client,
        "client_certificate": "01",
        "service_id": service,
        "purpose": "bansos-eligibility",
        "consent_id": "",
        "subject": "ab" * 32,
        "decision": "REFUSED" if reason else "RELEASED",
        "reason": reason,
        "stage": "",
        "status": status,
        "policy_version": "",
        "request_digest": "",
        "response_digest": "",
        **more,
    }
    return AuditRecord(**fields).canonical_json()  # type: ignore[arg-type]


def test_figures_of_a_crafted_window() -> None:
    bpjs, dtks = "ID/GOV/BPJSTK/wages/employment", "ID/GOV/KEMENSOS/dtks/household"
    rows = [
        _record(5, "ID/GOV/A/x", bpjs),
        _record(10, "ID/GOV/A/x", bpjs, "CONSENT_MISSING"),
        _record(70, "ID/GOV/B/y", bpjs, "CONNECTOR_TIMEOUT"),
        _record(75, "ID/GOV/B/y", dtks, break_glass=True, legal_basis="vital-interest"),
        _record(80, "ID/GOV/BSSN/auditor", "jembatan.v1.Audit/Search"),  # not an exchange
    ]
    entries = entries_of(enumerate(rows))
    start = T0.timestamp()
    summary = summarise(entries, start=start, end=start + 2 * 3600)
    assert summary.exchanges == 4
    assert [(h.released, h.denied, h.refused) for h in summary.hours] == [(1, 1, 0), (1, 0, 1)]
    assert summary.refusals_by_reason == (("CONNECTOR_TIMEOUT", 1), ("CONSENT_MISSING", 1))
    assert summary.top_clients == (("ID/GOV/A/x", 2), ("ID/GOV/B/y", 2))
    bpjs_health = summary.agencies[0]
    assert (bpjs_health.agency, bpjs_health.exchanges, bpjs_health.agency_failures) == (
        "ID/GOV/BPJSTK",
        3,
        1,
    )
    assert (summary.break_glass.attempts, summary.break_glass.records) == (1, (3,))
    lag = checkpoint_lag(3, 5, entries, now=start + 85 * 60)
    assert (lag.uncovered, lag.oldest_uncovered_s) == (2, 600.0)
