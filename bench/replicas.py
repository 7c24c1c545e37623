"""Replica benchmark: the hub on PostgreSQL with one and with two replicas, against the
SQLite hub measured in the same run, and the audit sequencer's durable appends on
PostgreSQL. Prints one JSON object (progress on stderr):

    python bench/replicas.py --seconds 8 --concurrency 32

``sqlite`` is the baseline: one hub on its home's SQLite file, driven exactly as the
replicas are. ``ratios`` divides: ``one_replica_vs_sqlite`` (one PostgreSQL replica's q/s
÷ the SQLite hub's; the target is 0.9 or more) and ``two_vs_one_replica`` (two replicas ÷
one; the target is above 1). The runs share the machine with whatever else runs on it:
read the figures with ``load_average`` (taken before each run), and compare ratios, not
q/s, between machines.

For each replica count, a fresh schema in ``--database`` (a PostgreSQL database the bench
may create schemas in) holds the store; the BPJSTK connector (with its REST simulator) and
the hub replicas run as separate processes on loopback, and this process keeps
``--concurrency`` consented queries in flight through the client SDK, spread evenly over the
replicas (each answer's receipt is checked by the SDK; a refusal counts as an error, never
as throughput). ``qps`` and ``p99_ms`` are over the timed window after a warm-up.
All processes share this machine's cores, so two replicas measure how the shared store and
the one sequencer lock hold up, not a second machine's worth of capacity.

``appends_per_s``: records committed (synchronous_commit on, tree nodes in the same
transaction, under the sequencing advisory lock) per second through one hub's sequencer,
``--appenders`` appending at once, as ``bench/audit.py`` measures SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import audit as audit_bench  # bench/audit.py: the same records and appenders
import psycopg

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from connectors.bpjstk.samples import sample_niks
from connectors.population import generate
from hub.audit.log import AuditLog
from hub.dev import devstack
from hub.dev.devstack import DevStack
from hub.dev.processes import RunningProcess
from hub.store import open_store
from hub.store.postgres import PostgresAuditWriter
from jembatan.client import HubCallFailed, HubClient, QueryRefused

_SEED, _SCALE = 2026, 0.05
FIELDS = ("employment_status", "monthly_wage")


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _schema(admin_dsn: str) -> Iterator[str]:
    name = f"jt_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        separator = "&" if "?" in admin_dsn else "?"
        yield f"{admin_dsn}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _percentile_ms(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 1)


async def _drive(
    clients: list[HubClient], nik: str, token: str, seconds: float, concurrency: int
) -> tuple[int, int, list[float]]:
    """(answers, errors, latencies of the timed answers) over ``seconds`` after a warm-up."""
    started = time.monotonic()
    warm_until, end = started + 1.0, started + 1.0 + seconds
    latencies: list[float] = []
    errors = 0

    async def worker(n: int) -> None:
        nonlocal errors
        client = clients[n % len(clients)]
        while (now := time.monotonic()) < end:
            try:
                await client.query(
                    service_id=EMPLOYMENT_SERVICE,
                    subject=nik,
                    purpose=devstack.PURPOSE,
                    fields=FIELDS,
                    consent=token,
                )
            except (QueryRefused, HubCallFailed):
                errors += 1
                continue
            if now >= warm_until:
                latencies.append(time.monotonic() - now)

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return len(latencies), errors, latencies


@contextlib.contextmanager
def _no_schema() -> Iterator[None]:
    yield None


def _replicas_run(
    admin_dsn: str | None, replicas: int, args: argparse.Namespace
) -> dict[str, object]:
    """``replicas`` hubs on a fresh schema of ``admin_dsn``; one hub on SQLite if None."""
    schema = _schema(admin_dsn) if admin_dsn is not None else _no_schema()
    load = os.getloadavg()
    with schema as dsn, tempfile.TemporaryDirectory() as tmp:
        home = devstack.prepare_home(Path(tmp), ["bpjstk"], database_url=dsn)
        stack = devstack.start(home, seed=_SEED, scale=_SCALE, sim_args=["bpjstk"])
        hubs = [stack.hub]
        try:
            for n in range(1, replicas):
                hubs.append(devstack.start_hub(home, name=f"hub-{n}"))
            nik = sample_niks(generate(_SEED, scale=_SCALE)).employed
            measured = asyncio.run(_measure(stack, hubs, nik, args, replicas))
            return {
                "engine": "postgresql" if dsn else "sqlite",
                **measured,
                "load_average": [round(n, 2) for n in load],
            }
        finally:
            for hub in hubs:
                hub.stop()
            stack.agencies.stop()


async def _measure(
    stack: DevStack,
    hubs: list[RunningProcess],
    nik: str,
    args: argparse.Namespace,
    replicas: int,
) -> dict[str, object]:
    import datetime

    from hub.home import CONSENT_MANAGER_ID

    token = devstack.signed_consent(
        stack.consent_key,
        nik,
        {EMPLOYMENT_SERVICE: FIELDS},
        valid_for=datetime.timedelta(days=1),
    )
    async with stack.client(CONSENT_MANAGER_ID) as portal:
        await portal.grant_consent(token)
    clients = [
        HubClient(
            hub.address,
            key_pem=stack.member_files(devstack.ELIGIBILITY_ID).key_pem,
            cert_pem=stack.member_files(devstack.ELIGIBILITY_ID).cert_pem,
            ca_pem=stack.home.ca_cert.read_bytes(),
            log_key=_log_key(stack),
            timeout_s=10.0,
        )
        for hub in hubs
    ]
    _say(f"{replicas} replica(s): {args.seconds} s at concurrency {args.concurrency}")
    try:
        answers, errors, latencies = await _drive(
            clients, nik, token, args.seconds, args.concurrency
        )
    finally:
        for client in clients:
            await client.close()
    store = open_store(stack.home)
    try:
        size = store.size()
    finally:
        store.close()
    return {
        "replicas": replicas,
        "qps": round(answers / args.seconds, 1),
        "p50_ms": _percentile_ms(latencies, 0.5),
        "p99_ms": _percentile_ms(latencies, 0.99),
        "errors": errors,
        "log_records": size,
    }


def _log_key(stack: DevStack) -> object:
    from jembatan.keys import load_ed25519_public_pem

    return load_ed25519_public_pem(stack.home.log_public_key.read_bytes())


def _appends(admin_dsn: str, records: int, appenders: int) -> dict[str, object]:
    with _schema(admin_dsn) as dsn:
        log = AuditLog(lambda: PostgresAuditWriter(dsn))
        _say(f"appending {records} records, {appenders} at a time, on PostgreSQL")
        seconds = asyncio.run(audit_bench._append(log, records, appenders))
        log.close()
        store = open_store(dsn)
        try:
            assert store.size() == store.tree_size() == records
        finally:
            store.close()
    return {"records": records, "appends_per_s": round(records / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database",
        default="postgresql://postgres@localhost:5432/test",
        help="a PostgreSQL database the bench may create (and drop) schemas in",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="timed window of each run")
    parser.add_argument("--concurrency", type=int, default=32, help="queries in flight")
    parser.add_argument(
        "--records", type=int, default=100_000, help="audit appends (0: no append run)"
    )
    parser.add_argument("--appenders", type=int, default=4096, help="appends in flight")
    args = parser.parse_args()
    sqlite = _replicas_run(None, 1, args)
    runs = [_replicas_run(args.database, n, args) for n in (1, 2)]
    sequencer = _appends(args.database, args.records, args.appenders) if args.records else None

    def ratio(a: dict[str, object], b: dict[str, object]) -> float:
        return round(float(str(a["qps"])) / max(float(str(b["qps"])), 1e-9), 2)

    ratios = {
        "one_replica_vs_sqlite": ratio(runs[0], sqlite),
        "two_vs_one_replica": ratio(runs[1], runs[0]),
    }
    print(
        json.dumps(
            {
                "engine": "postgresql",
                "sqlite": sqlite,
                "runs": runs,
                "ratios": ratios,
                "targets_met": {
                    "one_replica_vs_sqlite": ratios["one_replica_vs_sqlite"] >= 0.9,
                    "two_vs_one_replica": ratios["two_vs_one_replica"] > 1,
                },
                "audit": sequencer,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
