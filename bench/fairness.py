"""Fairness benchmark: a well-behaved member's latency while another member floods the hub.

Starts, as separate processes on loopback, the simulated BPJS Ketenagakerjaan with its
connector and the hub, with two members the policy allows the same queries: Kemensos'
eligibility service (well-behaved) and a regional office's (the flooder). The well-behaved
member sends ``--rate`` queries a second from this process, each on time whatever the
others do, for ``--seconds``: first alone (``unloaded``); then the flooder, a process of its
own (this file with ``--flood``), opens ``--streams`` Bulk streams at once (a third idle, a
third half-read, a third sending and never reading) and keeps ``--flood-concurrency``
queries going, each sent again the moment it is answered or refused; the well-behaved
member's queries while the streams open are ``opening`` (``--settle`` seconds), those of
the next ``--seconds`` are ``loaded``. Prints one JSON object (progress on stderr):

    python bench/fairness.py --seconds 10 --rate 50

``p99_ratio`` is loaded p99 / unloaded p99 (target: at most 2). Every well-behaved answer
must be a real release with a receipt; anything else is an error, never a latency.
``flood`` is what the flooder saw, by outcome (gRPC's Python client reports some of the
streams the hub refused while the flooder was writing to them as ``INTERNAL``, "Internal
error from Core"); ``admission_records`` is what the audit log kept of the hub's admission
refusals: a full record and a summary per member, method, reason and window, whose counts
add up to every refusal (``refusals_counted``). ``--hub-arg`` passes an option to
``jembatan serve`` (e.g. ``--hub-arg=--running=1``). ``--flooder-nice 19`` runs the
flooder's process at the lowest CPU priority, standing for a member on a machine of its own:
on a small box the flooder's client otherwise takes CPU from the hub itself, which no
admission control in the hub can give back. The stack is built with
``bench/pipeline.py``'s helpers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
from pipeline import (
    QUERY_METHOD,
    REPO,
    Phase,
    Requests,
    cpu_seconds,
    hub_release,
    make_home,
    percentile_ms,
    progress,
    throwaway_root,
)
from prometheus_client.parser import text_string_to_metric_families

from hub.dev import devstack
from hub.dev.processes import start_jembatan
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.provisioning import enrol
from hub.store import open_store
from jembatan.audit.record import AuditRecord
from jembatan.client import HubClient
from jembatan.errors import REASON_METADATA_KEY
from jembatan.keys import load_ed25519_private_pem
from jembatan.v1 import exchange_pb2
from policies import DEFAULT_DIRECTORY

WELL_BEHAVED_ID = "ID/GOV/KEMENSOS/eligibility"
FLOODER_ID = "ID/GOV/DINSOS/eligibility"
BULK_METHOD = "/jembatan.v1.Exchange/Bulk"
# Distinct channels get distinct connections; the hub lets one connection have 256 calls
# open, so the flooder spreads its streams over enough of them to open every one at once.
_STREAMS_PER_CHANNEL = 200
_HALF_READ = 5  # answers a half-read stream reads before it stops reading
_STREAM_LEGS = 2000  # distinct legs the sending streams cycle through
_READY = "flooding"


# --- the stack -----------------------------------------------------------------------------


def _policies(directory: Path) -> Path:
    """The shipped policies, and the BPJSTK rule once more for the flooder's member."""
    directory.mkdir()
    for source in DEFAULT_DIRECTORY.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    rule = (DEFAULT_DIRECTORY / "bansos-bpjstk.yaml").read_text()
    (directory / "flooder-bpjstk.yaml").write_text(rule.replace(WELL_BEHAVED_ID, FLOODER_ID))
    return directory


def _client(home: HubHome, address: str, member: Path) -> HubClient:
    """A signing client for the member whose files are in ``member`` (answers are checked
    by the callers, not by the SDK)."""
    return HubClient(
        address,
        key_pem=(member / "key.pem").read_bytes(),
        cert_pem=(member / "cert.pem").read_bytes(),
        ca_pem=home.ca_cert.read_bytes(),
        request_ttl_s=60,
        unsafe_skip_receipt_check=True,
    )


async def _granted(home: HubHome, address: str, member: Path) -> Requests:
    """Signed-query maker for ``member``, its consents granted by the consent manager."""
    async with (
        _client(home, address, member) as signer,
        _client(home, address, home.member_dir(CONSENT_MANAGER_ID)) as portal,
    ):
        consent_key = load_ed25519_private_pem(
            (home.member_dir(CONSENT_MANAGER_ID) / "consent.key").read_bytes()
        )
        requests = Requests(signer, consent_key)
        await portal.grant_consents(requests.consents())
    return requests


def _channels(home: HubHome, member: Path, address: str, count: int) -> list[grpc.aio.Channel]:
    credentials = grpc.ssl_channel_credentials(
        home.ca_cert.read_bytes(),
        (member / "key.pem").read_bytes(),
        (member / "cert.pem").read_bytes(),
    )
    return [
        grpc.aio.secure_channel(address, credentials, options=[("grpc.channel_id", n)])
        for n in range(count)
    ]


def _stage_seconds(metrics_url: str) -> dict[str, tuple[float, float]]:
    """(seconds, exchanges) the hub has spent in each stage so far, from its metrics."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    spent: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "jembatan_stage_duration_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels["stage"]
            if sample.name.endswith("_sum"):
                spent.setdefault(stage, [0.0, 0.0])[0] = sample.value
            elif sample.name.endswith("_count"):
                spent.setdefault(stage, [0.0, 0.0])[1] = sample.value
    return {stage: (seconds, count) for stage, (seconds, count) in spent.items()}


def _reason(error: grpc.aio.AioRpcError) -> str:
    reason = dict(error.trailing_metadata() or ()).get(REASON_METADATA_KEY, "")
    return f"{error.code().name} {reason}".strip()


# --- the well-behaved member ---------------------------------------------------------------


async def _paced(
    call: grpc.aio.UnaryUnaryMultiCallable, requests: Requests, rate: float, seconds: float
) -> Phase:
    """``rate`` queries a second for ``seconds``, each sent on time whatever the others do
    (so a slow hub shows as latency, not as fewer queries)."""
    count = int(rate * seconds)
    prepared = requests.sign(count)
    phase = Phase()

    async def one(i: int) -> None:
        started = time.perf_counter()
        try:
            data = await call(prepared.payloads[i], timeout=10.0)
        except grpc.aio.AioRpcError as exc:
            phase.errors += 1
            phase.reasons[_reason(exc)] += 1
            return
        latency = time.perf_counter() - started
        if hub_release(prepared.request_ids[i], data):
            phase.ok += 1
            phase.latencies.append(latency)
        else:
            phase.errors += 1
            phase.reasons["NOT_A_RELEASE"] += 1

    start = time.perf_counter()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
        phase.sent += 1
    await asyncio.gather(*tasks)
    phase.elapsed_s = time.perf_counter() - start
    return phase


def _figures(phase: Phase) -> dict[str, object]:
    return {
        "p50_ms": percentile_ms(phase.latencies, 0.5),
        "p99_ms": percentile_ms(phase.latencies, 0.99),
        "max_ms": percentile_ms(phase.latencies, 1.0),
        "answered": phase.ok,
        "errors": phase.errors,
        "error_reasons": dict(phase.reasons),
    }


def _summary(phase: Phase) -> str:
    return (
        f"p50 {percentile_ms(phase.latencies, 0.5)} ms, p99 {percentile_ms(phase.latencies, 0.99)}"
        f" ms, {phase.errors} errors"
    )


# --- the flooder (its own process) ---------------------------------------------------------


async def _flood(args: argparse.Namespace) -> dict[str, object]:
    home = HubHome(Path(args.home))
    member = home.member_dir(FLOODER_ID)
    requests = await _granted(home, args.hub, member)
    # Sent again once used up: the hub then refuses them as replays, after checking them.
    pool: Iterator[bytes] = itertools.cycle(requests.sign(args.flood_presign).payloads)
    legs: Iterator[bytes] = itertools.cycle(requests.sign(_STREAM_LEGS).payloads)
    outcomes: Counter[str] = Counter()
    streams: Counter[str] = Counter()
    channels = _channels(home, member, args.hub, 4 + -(-args.streams // _STREAMS_PER_CHANNEL))
    stop = asyncio.Event()

    def applicant(stream: int, n: int) -> bytes:
        request = exchange_pb2.FanOutRequest(applicant_id=f"s{stream}-{n}", legs=[next(legs)])
        return request.SerializeToString()

    async def send(call: grpc.aio.StreamStreamCall, stream: int, first: int) -> None:
        """Applicants, one leg each, as fast as the hub takes them (until it ends the call)."""
        with contextlib.suppress(Exception):
            for n in itertools.count(first):
                await call.write(applicant(stream, n))

    async def hold(stream: int) -> None:
        kind = ("idle", "half-read", "never-reading")[stream % 3]
        channel = channels[4 + stream // _STREAMS_PER_CHANNEL]
        call = channel.stream_stream(BULK_METHOD)()
        sending = None
        try:
            if kind == "half-read":  # a few applicants sent, their answers read, no more
                for n in range(_HALF_READ):
                    await call.write(applicant(stream, n))
                for _ in range(_HALF_READ):
                    await call.read()
            if kind != "idle":  # then it sends and sends, and reads nothing
                sending = asyncio.create_task(send(call, stream, _HALF_READ))
            ended = asyncio.ensure_future(call.code())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait((ended, stopped), return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if ended.done():
                reason = dict(await call.trailing_metadata() or ()).get(REASON_METADATA_KEY, "")
                streams[f"{kind}: {ended.result().name} {reason}".strip()] += 1
            else:
                ended.cancel()
                streams[f"{kind}: held open to the end"] += 1
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            # The hub ended the stream while the flooder was writing to it or reading it.
            reason = dict(await call.trailing_metadata() or ()).get(REASON_METADATA_KEY, "")
            streams[f"{kind}: {(await call.code()).name} {reason}".strip()] += 1
        finally:
            call.cancel()
            if sending is not None:
                sending.cancel()

    async def query(worker: int) -> None:
        call = channels[worker % 4].unary_unary(QUERY_METHOD)
        payload = next(pool)
        while not stop.is_set():
            try:
                await call(payload, timeout=10.0)
                outcomes["OK"] += 1
            except grpc.aio.AioRpcError as exc:
                reason = _reason(exc)
                outcomes[reason] += 1
                if reason.endswith("RATE_LIMITED"):
                    continue  # never authenticated, so never used: sent again at once
            payload = next(pool)

    holders = [asyncio.create_task(hold(n)) for n in range(args.streams)]
    workers = [asyncio.create_task(query(n)) for n in range(args.flood_concurrency)]
    print(_READY, flush=True)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), args.flood_seconds)
    stop.set()
    await asyncio.gather(*holders, *workers)
    for channel in channels:
        await channel.close()
    return {"queries": dict(outcomes), "streams": dict(streams)}


# --- the run -------------------------------------------------------------------------------


def _start_flooder(
    args: argparse.Namespace, home: HubHome, hub: str, seconds: float
) -> subprocess.Popen[str]:
    flooder = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--flood",
            "--home",
            str(home.root),
            "--hub",
            hub,
            "--flood-seconds",
            str(seconds),
            "--streams",
            str(args.streams),
            "--flood-concurrency",
            str(args.flood_concurrency),
            "--flood-presign",
            str(args.flood_presign),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # A flooding member runs on its own machine; on one small box its client would
        # otherwise take the hub's CPU, which no admission control in the hub can give back.
        preexec_fn=(lambda: os.nice(args.flooder_nice)) if args.flooder_nice else None,
    )
    assert flooder.stdout is not None
    line = flooder.stdout.readline()
    if line.strip() != _READY:
        flooder.kill()
        raise RuntimeError(f"the flooder did not start: {line!r}")
    return flooder


def _admission_records(home: HubHome) -> dict[str, object]:
    store = open_store(home)
    try:
        records = [AuditRecord.from_json(r) for _, _, r in store.entries()]
    finally:
        store.close()
    admission = [r for r in records if r.stage == "admission"]
    kinds: dict[str, dict[str, int]] = {}
    for record in admission:
        kind = kinds.setdefault(
            f"{record.service_id.rsplit('/', 1)[-1]} {record.reason}", {"records": 0, "refusals": 0}
        )
        kind["records"] += 1
        kind["refusals"] += record.count
    return {
        "records": len(admission),
        "refusals_counted": sum(record.count for record in admission),
        "by_kind": kinds,
        "log_records": len(records),
    }


async def _measure(
    args: argparse.Namespace, home: HubHome, hub: str, metrics_url: str, pids: dict[str, int]
) -> dict[str, object]:
    requests = await _granted(home, hub, home.member_dir(WELL_BEHAVED_ID))
    (channel,) = _channels(home, home.member_dir(WELL_BEHAVED_ID), hub, 1)
    call = channel.unary_unary(QUERY_METHOD)
    try:
        warm = await _paced(call, requests, args.rate, 1.0)
        progress(f"warm-up: {warm.ok} answered, {warm.errors} errors")
        unloaded = await _paced(call, requests, args.rate, args.seconds)
        progress(f"unloaded: {_summary(unloaded)}")
        flood_seconds = args.seconds + args.settle + 2
        flooder = _start_flooder(args, home, hub, flood_seconds)
        progress(
            f"flooder pid {flooder.pid}: {args.streams} streams, {args.flood_concurrency} queries"
        )
        # The flood's first seconds: its streams open (and most are refused) all at once.
        opening = await _paced(call, requests, args.rate, args.settle)
        progress(f"while the flood opens: {_summary(opening)}")
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        stages_before = await asyncio.to_thread(_stage_seconds, metrics_url)
        loaded = await _paced(call, requests, args.rate, args.seconds)
        cpu = {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in pids.items()}
        stages = await asyncio.to_thread(_stage_seconds, metrics_url)
        progress(f"loaded: {_summary(loaded)}")
        out, _ = await asyncio.to_thread(flooder.communicate, timeout=flood_seconds + 120)
        flood = json.loads(out.strip().splitlines()[-1])
    finally:
        await channel.close()
    before_p99, after_p99 = (
        percentile_ms(unloaded.latencies, 0.99),
        percentile_ms(loaded.latencies, 0.99),
    )
    return {
        "unloaded": _figures(unloaded),
        "loaded": _figures(loaded),
        "opening": _figures(opening),
        "p99_ratio": round(after_p99 / before_p99, 2) if before_p99 and after_p99 else None,
        "target_ratio": 2.0,
        "rate": args.rate,
        "seconds": args.seconds,
        "flood": flood,
        "cpu_seconds_while_loaded": cpu,
        # Every member's exchanges, as the hub timed them: 'admission' is the wait for a turn.
        "hub_stage_mean_ms_while_loaded": {
            stage: round(1000 * (seconds - stages_before.get(stage, (0, 0))[0]) / count, 2)
            for stage, (seconds, total) in stages.items()
            if (count := total - stages_before.get(stage, (0, 0))[1])
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--rate", type=float, default=50.0, help="well-behaved queries/s")
    parser.add_argument("--streams", type=int, default=2100, help="the flooder's Bulk streams")
    parser.add_argument(
        "--flood-concurrency", type=int, default=256, help="the flooder's queries in flight"
    )
    parser.add_argument(
        "--flood-presign", type=int, default=12000, help="distinct queries the flooder signs"
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds of flood before 'loaded' is measured"
    )
    parser.add_argument("--hub-arg", action="append", default=[], help="a jembatan serve option")
    parser.add_argument(
        "--flooder-nice",
        type=int,
        default=0,
        help="run the flooder's process at this niceness (19: it yields the CPU to the hub, "
        "standing for a member on a machine of its own)",
    )
    parser.add_argument("--keep-home", action="store_true", help="keep the throw-away home")
    # The flooder's own process.
    parser.add_argument("--flood", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--hub", help=argparse.SUPPRESS)
    parser.add_argument("--flood-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flood:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it on its own time
        print(json.dumps(asyncio.run(_flood(args))), flush=True)
        return
    if not (0 < args.seconds <= 45 and args.rate > 0 and args.streams >= 0):
        # The well-behaved queries are signed before their phase and fresh for 60 s.
        parser.error("--seconds must be in (0, 45], --rate positive, --streams not negative")

    processes = []
    with throwaway_root("jembatan-fairness-", keep=args.keep_home) as root:
        try:
            home, _, _ = make_home(root)
            enrol(home, FLOODER_ID)
            policies = _policies(root / "policies")
            sim = start_jembatan("sim", [*devstack.home_args(home), "sim", "bpjstk", "--register"])
            processes.append(sim)
            hub_args = ["--metrics-listen", "127.0.0.1:0", "--policies", str(policies)]
            hub = devstack.start_hub(home, [*hub_args, *args.hub_arg])
            processes.append(hub)
            progress(f"hub pid {hub.process.pid} on {hub.address}, connector pid {sim.process.pid}")
            pids = {"hub": hub.process.pid, "connector": sim.process.pid, "bench": os.getpid()}
            metrics = re.search(r"metrics on (\S+:\d+)\)", hub.ready_line)
            assert metrics, hub.ready_line
            metrics_url = f"http://{metrics.group(1)}/metrics"
            figures = asyncio.run(_measure(args, home, hub.address, metrics_url, pids))
            hub.stop()  # a clean stop writes the summaries of the windows still open
            figures["admission_records"] = _admission_records(home)
            figures["hub_args"] = args.hub_arg
            figures["flooder_nice"] = args.flooder_nice
        finally:
            for process in reversed(processes):
                process.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
