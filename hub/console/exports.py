"""Exports of a set of records — a search's results or a case file — as CSV (to read in a
spreadsheet) or as JSON Lines with inclusion proofs (``jembatan-audit-set/1``: anyone with
the hub's verifier key proves them with ``jembatan audit verify``).

Each record is proven before it is exported: against a checkpoint the console verified
(signed by the hub and consistent with its integrity anchor), the record's own bytes hashed
here. A console that cannot prove a record, or sees the log in alarm, exports nothing.

Records hold citizens as pseudonyms only; the hub never logs a NIK. What an export is
described as (in its header and in the officers' trail) names the filters used, never their
values: a search by NIK is "subject (NIK)".
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from hub.console.reader import LogReader
from hub.console.searches import N_
from jembatan.audit.merkle import ProofError, hash_leaf, verify_inclusion
from jembatan.audit.verify import set_export_lines
from jembatan.v1 import audit_pb2

# More than this is not an export an officer reads: narrow the search instead.
EXPORT_MAX = 1000
_PAGE = 500
_PARALLEL = 16
FORMATS = ("csv", "jsonl")
CSV_COLUMNS = (
    "index",
    "time",
    "decision",
    "reason",
    "client_id",
    "on_behalf_of",
    "service_id",
    "purpose",
    "subject",
    "consent_id",
    "request_digest",
    "break_glass",
    "legal_reference",
    "justification",
    "approved_by",
    "kind",
    "leaf_hash",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): a
# client's purpose or a justification could be made to start with one.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class ExportRefused(Exception):
    """Nothing is exported; the message is a catalogue msgid, ``detail`` what failed."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    content_type: str
    body: bytes
    records: int


async def search_entries(
    reader: LogReader, officer: str, query: audit_pb2.SearchRequest
) -> list[audit_pb2.AuditEntry]:
    """Every record ``query`` finds, newest first; ExportRefused past EXPORT_MAX."""
    request = audit_pb2.SearchRequest()
    request.CopyFrom(query)
    request.limit, request.newest_first = _PAGE, True
    request.ClearField("after_index")
    request.has_after_index = False
    request.ClearField("before_index")
    request.has_before_index = False
    found: list[audit_pb2.AuditEntry] = []
    while True:
        response = await reader.search(request, officer)
        found.extend(response.entries)
        if len(found) > EXPORT_MAX:
            raise ExportRefused(
                N_("Too many records to export (more than 1000): narrow the search first.")
            )
        if not response.more or not response.entries:
            return found
        request.before_index, request.has_before_index = response.entries[-1].index, True


async def record_entries(
    reader: LogReader, officer: str, indexes: Sequence[int]
) -> list[audit_pb2.AuditEntry]:
    """The records at ``indexes``, in that order (a case's pins)."""
    return [await reader.record(index, officer) for index in indexes]


def csv_export(entries: Sequence[audit_pb2.AuditEntry], name: str) -> Export:
    """The records as CSV, one row each, the columns CSV_COLUMNS (kind: call, review, event)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        record = json.loads(entry.record_json)
        record["index"] = entry.index
        record["leaf_hash"] = entry.leaf_hash.hex()
        record["kind"] = (
            "break-glass-review"
            if record.get("review")
            else "officer-event"
            if record.get("officer_event")
            else "call"
        )
        writer.writerow([_cell(record.get(column, "")) for column in CSV_COLUMNS])
    return Export(f"{name}.csv", "text/csv", out.getvalue().encode("utf-8"), len(entries))


def _cell(value: object) -> str:
    text = (
        "true"
        if value is True
        else "false"
        if value is False
        else ""
        if value is None
        else str(value)
    )
    return "'" + text if text.startswith(_FORMULA) else text


async def jsonl_export(
    reader: LogReader,
    officer: str,
    entries: Sequence[audit_pb2.AuditEntry],
    name: str,
    description: str,
) -> Export:
    """The records with their inclusion proofs against one verified checkpoint, each proof
    checked here first. ExportRefused if the log is in alarm or a record does not prove."""
    top = max((entry.index for entry in entries), default=-1)
    checked = await reader.checkpoint(min_size=top + 1, officer=officer)
    if checked.failure:
        raise ExportRefused(
            N_("The log's integrity is in alarm: nothing is exported."), checked.failure
        )
    checkpoint = checked.latest
    limit = asyncio.Semaphore(_PARALLEL)

    async def proof(entry: audit_pb2.AuditEntry) -> list[bytes]:
        async with limit:
            answer = await reader.call(
                reader.audit.GetInclusionProof,
                audit_pb2.GetInclusionProofRequest(index=entry.index, tree_size=checkpoint.size),
                officer,
            )
        hashes = list(answer.hashes)
        try:
            verify_inclusion(
                entry.index,
                checkpoint.size,
                hash_leaf(entry.record_json),
                hashes,
                checkpoint.root_hash,
            )
        except ProofError as exc:
            raise ExportRefused(
                N_("A record did not prove against the signed log: nothing is exported."),
                f"record {entry.index}: {exc}",
            ) from exc
        return hashes

    proofs = await asyncio.gather(*(proof(entry) for entry in entries))
    lines = set_export_lines(
        checked.note,
        checkpoint.size,
        ((e.index, e.record_json, p) for e, p in zip(entries, proofs, strict=True)),
        count=len(entries),
        description=description,
    )
    body = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
    return Export(f"{name}.jsonl", "application/jsonl", body, len(entries))
