"""Pipeline benchmark: the full secure hub against a bare forwarding proxy, in one run.

Starts, as separate processes on loopback, the simulated BPJS Ketenagakerjaan with its
connector (``jembatan sim --register``: a real HTTP hop behind the connector), the hub
(``jembatan serve``) and ``bench/bare_proxy.py`` (the same mTLS hop to the same connector,
no checks: the limit for this design). A load generator in this process keeps
``--concurrency`` queries in flight over raw-bytes gRPC channels, first against the bare
proxy, then against the hub (alternating for ``--rounds``), and prints one JSON object:

    python bench/pipeline.py --seconds 10 --concurrency 32

Requests are signed before timing (each needs its own nonce, and the hub accepts one only
within its freshness window, so the hub's are signed right before its phase); a consent
artefact per subject is signed once and reused. Every hub answer must be a real release
(QueryResult with the employment fields; receipts are verified after timing); anything
else counts as an error, never as throughput. ``audit_complete`` checks that the hub's log
holds one record per exchange sent to it, warm-up included. Progress goes to stderr, the
JSON alone to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from connectors.bpjstk.adapter import AGENCY_ID, EMPLOYMENT_SERVICE
from connectors.population import generate
from examples.eligibility.service import PURPOSE
from hub.dev.devstack import ELIGIBILITY_ID, signed_consent
from hub.dev.processes import RunningProcess, start_command
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.provisioning import MemberFiles, enrol, init_consent_manager, init_home
from hub.store import open_store
from jembatan.audit.receipt import ReceiptInvalid, verify_receipt
from jembatan.client import HubClient
from jembatan.errors import REASON_METADATA_KEY
from jembatan.keys import load_ed25519_private_pem, load_ed25519_public_pem
from jembatan.v1 import connector_pb2, exchange_pb2

FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")
QUERY_METHOD = "/jembatan.v1.Exchange/Query"
REPO = Path(__file__).resolve().parent.parent
_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def throwaway_root(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A temporary folder for a benchmark's home, removed afterwards unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if keep:
            progress(f"home kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes -----------------------------------------------------------------------------


def start_process(name: str, argv: Sequence[str]) -> RunningProcess:
    """Run ``argv`` (from the repository root) and wait for its ``listening on`` line."""
    return start_command(name, argv, cwd=REPO)


def jembatan(home: HubHome, *args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", "--home", str(home.root), *args]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    payloads: list[bytes]  # serialized QueryRequests
    request_ids: list[str]


class Requests:
    """Signed queries over the BPJSTK participants, a consent per subject signed once
    (given to ``client``'s member)."""

    def __init__(self, client: HubClient, consent_key: object) -> None:
        self._client = client
        subjects = list(generate().bpjstk)  # heads BPJS Ketenagakerjaan knows
        consents = {}
        for subject in subjects:
            consents[subject] = signed_consent(
                consent_key,  # type: ignore[arg-type]
                subject,
                {EMPLOYMENT_SERVICE: FIELDS},
                grantee=client.client_id,
                valid_for=datetime.timedelta(days=1),
            )
        self.subjects = subjects
        self._consents = consents
        self._next = 0

    def consents(self) -> list[str]:
        return list(self._consents.values())

    def sign(self, count: int) -> Prepared:
        payloads, request_ids = [], []
        now = time.time()
        for _ in range(count):
            subject = self.subjects[self._next % len(self.subjects)]
            self._next += 1
            body = self._client.body(
                service_id=EMPLOYMENT_SERVICE,
                subject=subject,
                purpose=PURPOSE,
                fields=FIELDS,
                consent=self._consents[subject],
            )
            payloads.append(self._client.sign(body, now=now).SerializeToString())
            request_ids.append(body.request_id)
        return Prepared(payloads, request_ids)


# --- answers -------------------------------------------------------------------------------


def hub_release(request_id: str, data: bytes) -> bool:
    """A real release: a QueryResult for this request with the employment fields."""
    response = exchange_pb2.QueryResponse.FromString(data)
    result = exchange_pb2.QueryResult.FromString(response.result)
    names = {f.name for f in result.fields}
    return (
        result.request_id == request_id
        and result.subject_found
        and "employment_status" in names
        and response.receipt.signature != b""
    )


def bare_release(request_id: str, data: bytes) -> bool:
    """The bare proxy hands back the connector's FetchResult."""
    response = exchange_pb2.QueryResponse.FromString(data)
    result = connector_pb2.FetchResult.FromString(response.result)
    return (
        result.request_id == request_id
        and result.subject_found
        and "employment_status" in result.fields
    )


# --- load ----------------------------------------------------------------------------------


@dataclass
class Phase:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    exhausted: bool = False
    latencies: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[int, bytes]] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        self.sent += other.sent
        self.ok += other.ok
        self.errors += other.errors
        self.elapsed_s += other.elapsed_s
        self.exhausted |= other.exhausted
        self.latencies += other.latencies
        self.reasons.update(other.reasons)
        self.answers += other.answers


async def drive(
    calls: Sequence[grpc.aio.UnaryUnaryMultiCallable],
    prepared: Prepared,
    check: Callable[[str, bytes], bool],
    *,
    concurrency: int,
    seconds: float | None,
    stop: asyncio.Event,
    keep_answers: bool = False,
) -> Phase:
    """Keep ``concurrency`` queries in flight until ``seconds`` pass or the list runs out."""
    phase = Phase()
    indices: Iterator[int] = iter(range(len(prepared.payloads)))
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds
    clock = time.perf_counter

    async def worker(n: int) -> None:
        call = calls[n % len(calls)]
        while (deadline is None or clock() < deadline) and not stop.is_set():
            i = next(indices, None)
            if i is None:
                phase.exhausted = seconds is not None
                return
            phase.sent += 1
            t0 = clock()
            try:
                data = await call(prepared.payloads[i], timeout=10.0)
            except grpc.aio.AioRpcError as exc:
                phase.errors += 1
                reason = dict(exc.trailing_metadata() or ()).get(REASON_METADATA_KEY, "")
                phase.reasons[f"{exc.code().name} {reason}".strip()] += 1
                continue
            latency = clock() - t0
            try:
                good = check(prepared.request_ids[i], data)
            except Exception:  # undecodable answer
                good = False
            if not good:
                phase.errors += 1
                phase.reasons["NOT_A_RELEASE"] += 1
                continue
            phase.ok += 1
            phase.latencies.append(latency)
            if keep_answers:
                phase.answers.append((i, data))

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    phase.elapsed_s = time.perf_counter() - start
    return phase


def percentile_ms(latencies: list[float], q: float) -> float | None:
    if not latencies:
        return None
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Stack:
    home: HubHome
    client: MemberFiles
    consent_key: object
    sim: RunningProcess
    hub: RunningProcess
    bare: RunningProcess

    def portal(self) -> HubClient:
        """The consent manager's client, to grant the benchmark's consents."""
        files = self.home.member_dir(CONSENT_MANAGER_ID)
        return HubClient(
            self.hub.address,
            key_pem=(files / "key.pem").read_bytes(),
            cert_pem=(files / "cert.pem").read_bytes(),
            ca_pem=self.home.ca_cert.read_bytes(),
            unsafe_skip_receipt_check=True,  # grants carry no receipt
        )


def make_home(root: Path) -> tuple[HubHome, MemberFiles, object]:
    home = HubHome(root)
    init_home(home)
    init_consent_manager(home)
    client = enrol(home, ELIGIBILITY_ID)
    enrol(home, CONSENT_MANAGER_ID)
    enrol(home, AGENCY_ID)
    consent_key = load_ed25519_private_pem(
        (home.member_dir(CONSENT_MANAGER_ID) / "consent.key").read_bytes()
    )
    return home, client, consent_key


@contextlib.contextmanager
def running_stack(root: Path, hub_args: Sequence[str] = ()) -> Iterator[Stack]:
    home, client, consent_key = make_home(root)
    processes: list[RunningProcess] = []
    try:
        sim = start_process("sim", jembatan(home, "sim", "bpjstk", "--register"))
        processes.append(sim)
        progress(f"connector (sim) pid {sim.process.pid} on {sim.address}")
        hub = start_process("hub", jembatan(home, "serve", "--listen", "127.0.0.1:0", *hub_args))
        processes.append(hub)
        progress(f"hub pid {hub.process.pid} on {hub.address}")
        bare = start_process(
            "bare",
            [sys.executable, str(REPO / "bench" / "bare_proxy.py"), "--home", str(root)],
        )
        processes.append(bare)
        progress(f"bare proxy pid {bare.process.pid} on {bare.address}")
        yield Stack(home, client, consent_key, sim, hub, bare)
    finally:
        for process in reversed(processes):
            process.stop()


async def benchmark(stack: Stack, args: argparse.Namespace) -> dict[str, object]:
    ca_pem = stack.home.ca_cert.read_bytes()
    signer = HubClient(
        stack.hub.address,
        key_pem=stack.client.key_pem,
        cert_pem=stack.client.cert_pem,
        ca_pem=ca_pem,
        request_ttl_s=60,
        # Only signs: the load generator checks receipts itself, after timing.
        unsafe_skip_receipt_check=True,
    )
    credentials = grpc.ssl_channel_credentials(ca_pem, stack.client.key_pem, stack.client.cert_pem)
    channels = {
        target: [
            # Distinct channels get distinct connections (no subchannel sharing).
            grpc.aio.secure_channel(process.address, credentials, options=[("grpc.channel_id", n)])
            for n in range(args.channels)
        ]
        for target, process in (("bare", stack.bare), ("hub", stack.hub))
    }
    calls = {t: [c.unary_unary(QUERY_METHOD) for c in cs] for t, cs in channels.items()}
    checks = {"bare": bare_release, "hub": hub_release}
    pids = {
        "hub": stack.hub.process.pid,
        "bare": stack.bare.process.pid,
        "connector": stack.sim.process.pid,
        "loadgen": os.getpid(),
    }
    # Ctrl-C or SIGTERM: let the in-flight queries finish, then stop (no half-cancelled calls).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    requests = Requests(signer, stack.consent_key)
    # The hub honours only artefacts the consent manager granted there: grant them first.
    async with stack.portal() as portal:
        grants = await portal.grant_consents(requests.consents())
    progress(f"{len(requests.subjects)} subjects, fields {', '.join(FIELDS)}")
    totals = {"bare": Phase(), "hub": Phase()}
    cpu: dict[str, dict[str, float]] = {t: dict.fromkeys(pids, 0.0) for t in totals}
    hub_sent = 0
    rate_guess = 3000.0  # queries/s, to size the hub's pre-signed list; refined by the bare run
    try:
        for round_no in range(args.rounds):
            for target in ("bare", "hub"):
                if round_no == 0 and args.warmup:
                    warm = await drive(
                        calls[target],
                        requests.sign(args.warmup),
                        checks[target],
                        concurrency=args.concurrency,
                        seconds=None,
                        stop=stop,
                    )
                    if stop.is_set():
                        raise KeyboardInterrupt
                    if target == "hub":
                        hub_sent += warm.sent
                    progress(f"{target} warm-up: {warm.ok} ok, {warm.errors} errors")
                    if warm.errors:
                        progress(f"{target} warm-up errors: {dict(warm.reasons)}")
                count = int(rate_guess * args.seconds * 1.25) + args.concurrency
                prepared = requests.sign(count)
                profiler = start_profiler(args, pids["hub"]) if target == "hub" else None
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                phase = await drive(
                    calls[target],
                    prepared,
                    checks[target],
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    stop=stop,
                    keep_answers=target == "hub",
                )
                if stop.is_set():
                    if profiler is not None:
                        profiler.terminate()
                    raise KeyboardInterrupt
                for name, pid in pids.items():
                    cpu[target][name] += cpu_seconds(pid) - before[name]
                if profiler is not None:
                    profiler.wait()
                if target == "hub":
                    hub_sent += phase.sent
                elif phase.elapsed_s:
                    rate_guess = max(rate_guess, phase.ok / phase.elapsed_s)
                totals[target].add(phase)
                progress(
                    f"round {round_no + 1} {target}: {phase.ok / phase.elapsed_s:.0f} q/s, "
                    f"p50 {percentile_ms(phase.latencies, 0.5)} ms, "
                    f"p99 {percentile_ms(phase.latencies, 0.99)} ms, "
                    f"{phase.errors} errors {dict(phase.reasons) or ''}"
                    + (" (request list ran out)" if phase.exhausted else "")
                )
    finally:
        for cs in channels.values():
            for channel in cs:
                await channel.close()
        await signer.close()

    receipts_verified = verify_receipts(stack.home, totals["hub"])
    stack.hub.stop()  # a clean stop drains the audit sequencer
    registry = open_store(stack.home)
    try:
        audit_records = registry.size()
    finally:
        registry.close()

    bare, hub = totals["bare"], totals["hub"]
    bare_qps = bare.ok / bare.elapsed_s if bare.elapsed_s else 0.0
    hub_qps = hub.ok / hub.elapsed_s if hub.elapsed_s else 0.0
    figures: dict[str, object] = {
        "hub_qps": round(hub_qps, 1),
        "bare_qps": round(bare_qps, 1),
        "ratio": round(hub_qps / bare_qps, 3) if bare_qps else None,
        "hub_p50_ms": percentile_ms(hub.latencies, 0.5),
        "hub_p99_ms": percentile_ms(hub.latencies, 0.99),
        "bare_p50_ms": percentile_ms(bare.latencies, 0.5),
        "bare_p99_ms": percentile_ms(bare.latencies, 0.99),
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "channels": args.channels,
        "hub_queries": hub.ok,
        "bare_queries": bare.ok,
        "hub_errors": hub.errors,
        "bare_errors": bare.errors,
        "hub_error_reasons": dict(hub.reasons),
        "bare_error_reasons": dict(bare.reasons),
        "hub_receipts_verified": receipts_verified,
        "audit_records": audit_records,
        "hub_exchanges_sent": hub_sent,
        "consent_grants": grants,
        "audit_complete": audit_records == hub_sent + grants,
        "list_ran_out": bare.exhausted or hub.exhausted,
    }
    # CPU time per answered query, per process, during each measured phase (2 cores shared).
    for target, phase in totals.items():
        if phase.ok:
            figures[f"{target}_cpu_ms_per_query"] = {
                name: round(seconds * 1000 / phase.ok, 3) for name, seconds in cpu[target].items()
            }
    return figures


def verify_receipts(home: HubHome, phase: Phase) -> int:
    """Check every hub answer's receipt against the log key (after timing: costs CPU)."""
    key = load_ed25519_public_pem(home.log_public_key.read_bytes())
    verified = 0
    for _, data in phase.answers:
        response = exchange_pb2.QueryResponse.FromString(data)
        receipt = response.receipt
        try:
            verify_receipt(
                key, receipt.log_index, receipt.leaf_hash, response.result, receipt.signature
            )
        except ReceiptInvalid:
            phase.errors += 1
            phase.ok -= 1
            phase.reasons["RECEIPT_INVALID"] += 1
            continue
        verified += 1
    phase.answers.clear()
    return verified


def start_profiler(args: argparse.Namespace, pid: int) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of the hub for the measured phase (own measurement only)."""
    if not args.profile_hub:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    progress(f"profiling hub pid {pid} into {args.profile_hub}")
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--format",
            args.profile_format,
            "-o",
            args.profile_hub,
            "-d",
            str(max(1, int(args.seconds) - 1)),
            "-p",
            str(pid),
            *args.py_spy_arg,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per target")
    parser.add_argument("--concurrency", type=int, default=32, help="queries in flight")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up queries per target")
    parser.add_argument("--rounds", type=int, default=1, help="bare, hub alternations")
    parser.add_argument("--channels", type=int, default=1, help="gRPC channels per target")
    parser.add_argument("--keep-home", action="store_true", help="keep the throw-away home")
    parser.add_argument(
        "--hub-arg", action="append", default=[], help="a jembatan serve option, e.g. --running=8"
    )
    parser.add_argument("--profile-hub", metavar="OUT", help="py-spy record the hub phase")
    parser.add_argument("--profile-format", default="raw", help="py-spy output format")
    parser.add_argument(
        "--py-spy-arg", action="append", default=[], help="extra py-spy option, e.g. --gil"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.seconds <= 0 or args.rounds < 1 or args.channels < 1:
        parser.error("concurrency, seconds, rounds and channels must be positive")
    if args.seconds > 45:
        # Requests are signed before the phase and the hub accepts them for 60 s (+30 s skew).
        parser.error("--seconds at most 45 (pre-signed requests must stay fresh); use --rounds")

    try:
        with (
            throwaway_root("jembatan-bench-", keep=args.keep_home) as root,
            running_stack(root, args.hub_arg) as stack,
        ):
            figures = asyncio.run(benchmark(stack, args))
    except KeyboardInterrupt:
        progress("interrupted")
        sys.exit(130)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
