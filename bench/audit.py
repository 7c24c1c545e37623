"""Audit log benchmark: durable appends through the sequencer, proofs and verification at
a million records. Prints one JSON object (progress on stderr):

    python bench/audit.py --records 1000000

``appends_per_s``: records made durable (committed with synchronous=FULL, in group-commit
batches, nodes of the Merkle tree written in the same transaction) per second, with many
exchanges appending at once, as the hub's pipeline does. ``proof_ms_p50``/``p99``: inclusion
proofs from storage at the full size. ``verify_s``: `jembatan audit verify`'s work on an
export of every record (recompute every leaf and the root, check the signed checkpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.log import AuditLog
from hub.audit.publisher import CheckpointPublisher
from hub.store.base import PendingEntry
from hub.store.sqlite import SqliteAuditWriter, SqliteRegistry
from jembatan.audit.checkpoint import ORIGIN, verifier_key
from jembatan.audit.record import AuditRecord, leaf_hash
from jembatan.audit.verify import export_lines, verify_export


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _entry(i: int) -> PendingEntry:
    record = AuditRecord(
        time="2026-11-23T10:00:00.000+00:00",
        request_id=f"r{i}",
        client_id="ID/GOV/KEMENSOS/eligibility",
        client_certificate="5f3a9c",
        service_id="ID/GOV/BPJSTK/wages/employment",
        purpose="bansos-eligibility",
        consent_id="0b7c2a6e-7d7e-4a53-9d0e-8f1c2b3a4d5e",
        subject=f"{i:064x}",
        decision="RELEASED",
        reason="",
        stage="release",
        status="OK",
        policy_version="sha256:" + "ab" * 32,
        request_digest="cd" * 32,
        response_digest="ef" * 32,
        fields_requested=("employment_status", "monthly_wage"),
        fields_released=(("employment_status", "raw"), ("monthly_wage", "predicate")),
    ).canonical_json()
    return PendingEntry(
        record, leaf_hash(record), "2026-11-23T10:00:00", "c", "s", "RELEASED", "", "p"
    )


async def _append(log: AuditLog, count: int, concurrency: int) -> float:
    entries = iter([_entry(i) for i in range(count)])
    # The hub never holds a backlog of a million records; here they are made up front, so
    # keep them out of the collector's sight or every full collection walks all of them.
    gc.freeze()

    async def appender() -> None:
        # Like one exchange after another on one of the hub's many in-flight slots.
        for entry in entries:
            await log.append(entry)

    started = time.perf_counter()
    await asyncio.gather(*(appender() for _ in range(concurrency)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=4096, help="appends in flight")
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jembatan-bench-audit-"))
    database = root / "hub.db"
    try:
        log = AuditLog(lambda: SqliteAuditWriter(database))
        _say(f"appending {args.records} records, {args.concurrency} at a time")
        seconds = asyncio.run(_append(log, args.records, args.concurrency))
        log.close()

        registry = SqliteRegistry(database)
        key = Ed25519PrivateKey.generate()
        size, note = CheckpointPublisher(registry, key, clock=time.time).publish()
        rng = random.Random(1)
        timings = []
        for _ in range(args.proofs):
            index = rng.randrange(size)
            started = time.perf_counter()
            registry.inclusion_proof(index, size)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()

        _say("exporting")
        export = root / "export.jsonl"
        with export.open("w") as out:
            for line in export_lines(size, registry.committed_entries(size)):
                out.write(line + "\n")
        registry.close()
        _say("verifying the export")
        started = time.perf_counter()
        with export.open() as lines:
            verified = verify_export(lines, note, verifier_key(ORIGIN, key.public_key()))
        verify_s = time.perf_counter() - started
        assert verified.records == args.records
        print(
            json.dumps(
                {
                    "records": args.records,
                    "appends_per_s": round(args.records / seconds),
                    "append_seconds": round(seconds, 2),
                    "proof_ms_p50": round(statistics.median(timings), 3),
                    "proof_ms_p99": round(timings[int(len(timings) * 0.99)], 3),
                    "verify_s": round(verify_s, 2),
                    "database_mb": round(database.stat().st_size / 2**20, 1),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
