"""``jembatan audit``: the verifiable audit log, on the hub's host or from an auditor's seat.

``checkpoint``, ``export`` and ``check`` read the log's storage with the home's log key;
``fetch`` and ``follow`` ask the hub over gRPC with an auditor's certificate; ``verify``
needs nothing but the hub's verifier key.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hub.cli.common import (
    AUDITOR,
    CliError,
    add_actions,
    add_command,
    home,
    hub_call,
    member_connection,
    read,
    text_arg,
    write_or_print,
)
from hub.home import HubHome

if TYPE_CHECKING:
    import datetime

    from hub.audit.publisher import CheckpointPublisher
    from hub.store.base import HubStore
    from jembatan.client import HubClient
    from jembatan.insights.entries import Entry

T = TypeVar("T")


def _publisher(hub_home: HubHome) -> tuple[HubStore, CheckpointPublisher]:
    """The log's storage and a publisher that signs with the hub's log key (on the hub's
    machine: the key never leaves the home)."""
    import time

    from hub.audit.publisher import CheckpointPublisher
    from hub.store import open_store
    from jembatan.keys import load_ed25519_private_pem

    registry = open_store(hub_home)
    key = load_ed25519_private_pem(hub_home.log_key.read_bytes())
    return registry, CheckpointPublisher(registry, key, clock=time.time)


def cmd_audit_checkpoint(args: argparse.Namespace) -> None:
    registry, publisher = _publisher(home(args))
    try:
        _, note = publisher.latest(registry.tree_size())
    finally:
        registry.close()
    write_or_print(args.out, note)


def cmd_audit_export(args: argparse.Namespace) -> None:
    from jembatan.audit.verify import export_lines

    registry, publisher = _publisher(home(args))
    try:
        size, note = publisher.latest(registry.tree_size())
        with open(args.out, "w", encoding="utf-8") as out:
            for line in export_lines(size, registry.committed_entries(size)):
                out.write(line + "\n")
    finally:
        registry.close()
    checkpoint_out = args.checkpoint_out or args.out + ".checkpoint"
    Path(checkpoint_out).write_text(note)
    print(f"exported {size} records to {args.out}; checkpoint in {checkpoint_out}")


def cmd_audit_fetch(args: argparse.Namespace) -> None:
    async def fetch(auditor: HubClient) -> int:
        lines = 0
        with open(args.out, "w", encoding="utf-8") as out:
            async for line in auditor.export_range(args.start, args.end):
                out.write(line + "\n")
                lines += 1
        return lines - 1

    records = _auditor_call(args, fetch)
    print(
        f"fetched records [{args.start}, {args.end}) to {args.out}: {records} records, each "
        f"with its inclusion proof in the signed checkpoint on the first line"
    )


def cmd_audit_follow(args: argparse.Namespace) -> None:
    from jembatan.v1 import audit_pb2

    search = audit_pb2.SearchRequest(
        client_id=args.client or "",
        service_id=args.service or "",
        decision=args.decision or "",
        reason=args.reason or "",
        kind=args.kind or "",
        officer=args.officer or "",
        officer_event=args.event or "",
        break_glass=args.break_glass,
        after_index=args.after if args.after is not None else 0,
        has_after_index=args.after is not None,
    )

    async def follow(auditor: HubClient) -> None:
        async for entry in auditor.stream_records(search):
            print(f"{entry.index}\t{entry.record_json.decode()}", flush=True)

    _auditor_call(args, follow)  # until Ctrl-C


def _auditor_call(args: argparse.Namespace, act: Callable[[HubClient], Awaitable[T]]) -> T:
    """What ``act`` makes of the hub as the auditor ``--member`` (or ``--member-dir``)."""
    return hub_call(home(args), args.member, args.hub, act, args.member_dir)


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from jembatan.audit.verify import (
        RANGE_FORMAT,
        SET_FORMAT,
        export_format,
        verify_export,
        verify_range_export,
        verify_set_export,
    )

    key = text_arg(args.key, "--key") if args.key else _home_verifier_key(args)
    checkpoint = _text_file(args.checkpoint, "--checkpoint")
    earlier = _text_file(args.earlier, "--earlier")
    try:
        lines = open(args.export, encoding="utf-8")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise CliError(f"cannot read {args.export}: {exc.strerror}") from exc
    with lines:
        first = next(lines, "")
        if export_format(first) == SET_FORMAT:
            proven_set = verify_set_export(
                itertools.chain([first], lines), key, checkpoint_note=checkpoint
            )
            witnessed = _quorum(args, _range_checkpoint(first), key)
            print(
                f"✓ {len(proven_set.indexes)} records each proven in the checkpoint of size "
                f"{proven_set.checkpoint.size} (root {proven_set.checkpoint.root_hash.hex()[:16]}…)"
                f"{witnessed}"
            )
            return
        if export_format(first) == RANGE_FORMAT:
            proven = verify_range_export(
                itertools.chain([first], lines), key, checkpoint_note=checkpoint
            )
            witnessed = _quorum(args, _range_checkpoint(first), key)
            print(
                f"✓ records [{proven.start}, {proven.end}) each proven in the checkpoint of size "
                f"{proven.checkpoint.size} (root {proven.checkpoint.root_hash.hex()[:16]}…)"
                f"{witnessed}"
            )
            return
        if checkpoint is None:
            raise CliError("a whole-log export is verified against a --checkpoint")
        verified = verify_export(
            itertools.chain([first], lines), checkpoint, key, earlier_note=earlier
        )
    consistent = (
        f"; consistent with the earlier checkpoint of {verified.consistent_with.size}"
        if verified.consistent_with
        else ""
    )
    witnessed = _quorum(args, checkpoint, key)
    print(
        f"✓ {verified.records} records verified against the checkpoint of size "
        f"{verified.checkpoint.size} (root {verified.checkpoint.root_hash.hex()[:16]}…)"
        f"{consistent}{witnessed}"
    )


def _range_checkpoint(header: str) -> str:
    import json

    return str(json.loads(header)["checkpoint"])


def _quorum(args: argparse.Namespace, note: str, key: str) -> str:
    """Require ``--quorum`` of the ``--witness`` keys to have cosigned ``note``; what to say
    of it ("" when no witness is required)."""
    from jembatan.audit.verify import VerificationFailed
    from jembatan.audit.witness import QuorumNotMet, parse_cosigner_key, verify_quorum

    if not args.witness:
        if args.quorum:
            raise CliError("--quorum needs the witnesses' keys (--witness KEY, repeated)")
        return ""
    cosigners = [parse_cosigner_key(text_arg(w, "--witness")) for w in args.witness]
    quorum = len(cosigners) if args.quorum is None else args.quorum
    try:
        cosigned = verify_quorum(note, key, cosigners, quorum)
    except QuorumNotMet as exc:
        raise VerificationFailed(f"witness quorum not met: {exc}") from None
    names = ", ".join(sorted(cosigned.cosigned_at))
    return f"; cosigned by {len(cosigned.cosigned_at)} of {len(cosigners)} witnesses ({names})"


def _text_file(path: str | None, option: str) -> str | None:
    return read(path, option).decode("utf-8", "replace") if path else None


def _home_verifier_key(args: argparse.Namespace) -> str:
    """The verifier key of the hub home, for an officer on the hub's host."""
    path = home(args).log_verifier_key
    return read(str(path), "the hub's verifier key").decode().strip()


def cmd_audit_check(args: argparse.Namespace) -> None:
    """The hub's own integrity check: the stored log against every stored checkpoint."""
    from jembatan.audit.verify import export_lines, verify_export

    hub_home = home(args)
    registry, publisher = _publisher(hub_home)
    try:
        size, note = publisher.latest(registry.tree_size())
        verifier = hub_home.log_verifier_key.read_text().strip()
        earlier = registry.checkpoints()
        for _, earlier_note in earlier or [(size, note)]:
            verify_export(
                export_lines(size, registry.committed_entries(size)),
                note,
                verifier,
                earlier_note=earlier_note,
            )
    finally:
        registry.close()
    print(f"✓ audit log intact: {size} records, consistent with {len(earlier)} checkpoints")


def cmd_audit_anomalies(args: argparse.Namespace) -> None:
    """The anomaly flags of a window of the log; exit 1 when any is raised."""
    import datetime
    import json

    from jembatan.insights.anomalies import anomalies
    from jembatan.insights.entries import entries_until
    from jembatan.insights.messages import explain, title
    from jembatan.insights.thresholds import load_thresholds
    from jembatan.v1 import audit_pb2

    hub_home = home(args)
    thresholds = load_thresholds(
        Path(args.thresholds) if args.thresholds else hub_home.anomaly_thresholds
    )
    now = datetime.datetime.now(datetime.UTC)
    end = _moment(args.until, "--until", now) if args.until else now
    if end > now:
        raise CliError("--until is in the future: the log has nothing there yet")
    start = (
        _moment(args.since, "--since", end)
        if args.since
        else end - datetime.timedelta(seconds=thresholds.window_s)
    )
    if start >= end:
        raise CliError("--since must be earlier than --until")
    search = audit_pb2.SearchRequest(time_from=start.isoformat())

    async def read(auditor: HubClient) -> list[Entry]:
        return await entries_until(auditor.stream_records(search), end.timestamp())

    entries = _auditor_call(args, read)
    flags = anomalies(entries, thresholds, start=start.timestamp(), end=end.timestamp())
    if args.json:
        print(
            json.dumps(
                {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "records": len(entries),
                    "flags": [
                        {**flag.as_json(), "explanation": explain(flag, args.lang)}
                        for flag in flags
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(f"{len(entries)} records from {start.isoformat()} to {end.isoformat()}:")
        for flag in flags:
            print(f"\n[{flag.code}] {title(flag, args.lang)}")
            print(f"  {explain(flag, args.lang)}")
            print(f"  records ({len(flag.records)}): {_indexes(flag.records)}")
        print(f"\n{len(flags) or 'no'} anomal{'y' if len(flags) == 1 else 'ies'} flagged")
    if flags:
        # A check that found something, like a failed verification (exit status 1).
        raise SystemExit(1)


def _moment(text: str, option: str, end: datetime.datetime) -> datetime.datetime:
    """``text`` as an RFC 3339 time with its offset, or a duration (30m, 24h, 7d) back from
    ``end``."""
    import datetime

    from jembatan.insights.thresholds import parse_duration

    seconds = parse_duration(text)
    if seconds is not None:
        return end - datetime.timedelta(seconds=seconds)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CliError(
            f"{option}: expected a time with its offset (2026-08-17T08:00:00+07:00) or a"
            f" duration back from now (30m, 24h, 7d), not {text!r}"
        )
    return moment.astimezone(datetime.UTC)


def _indexes(indexes: tuple[int, ...], shown: int = 20) -> str:
    more = f" … and {len(indexes) - shown} more" if len(indexes) > shown else ""
    return ", ".join(str(i) for i in indexes[:shown]) + more


# --- parser ------------------------------------------------------------------------------


def _as_auditor() -> argparse.ArgumentParser:
    return member_connection(
        AUDITOR, member_help="the auditor's member id (its certificate has the auditor role)"
    )


def add_audit_commands(commands: argparse._SubParsersAction) -> None:
    audit = add_command(
        commands,
        "audit",
        "the verifiable audit log",
        description="The verifiable audit log: signed checkpoints, exports with proofs, and"
        " their verification. checkpoint, export and check run on the hub's host (the home's"
        " log key); fetch and follow ask the hub as an auditor; verify needs only the hub's"
        " verifier key.",
    )
    actions = add_actions(audit, "audit_command")

    checkpoint = add_command(
        actions, "checkpoint", "the latest signed checkpoint", cmd_audit_checkpoint
    )
    checkpoint.add_argument(
        "--out", metavar="FILE", help="write it to this file (default: print it)"
    )

    export = add_command(actions, "export", "export the log as JSON Lines", cmd_audit_export)
    export.add_argument(
        "--out", required=True, metavar="FILE", help="where to write the records (JSON Lines)"
    )
    export.add_argument(
        "--checkpoint-out",
        metavar="FILE",
        help="where to write its checkpoint (default: the --out file's name + .checkpoint)",
    )

    verify = add_command(
        actions,
        "verify",
        "verify an export against a checkpoint, needing nothing but the hub's verifier key",
        cmd_audit_verify,
        epilog="A whole-log export (audit export) needs --checkpoint; a fetched range (audit"
        " fetch) and a set of records exported from the console carry their own checkpoint on"
        " their first line. The format is read from that line.",
    )
    verify.add_argument(
        "export", help="the export file: from audit export, audit fetch or the console"
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="signed checkpoint file (a fetched range carries its own)",
    )
    verify.add_argument(
        "--key",
        help="the hub's published verifier key, or @FILE to read it from, e.g."
        " @$JEMBATAN_HOME/hub/log.vkey (default: the hub home's hub/log.vkey)",
    )
    verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness whose cosignature counts towards --quorum: its key string (which"
        " names it) or @FILE; repeat for each",
    )
    verify.add_argument(
        "--quorum",
        type=int,
        metavar="K",
        help="how many of the --witness witnesses must have cosigned the checkpoint"
        " (default: all of them)",
    )
    verify.add_argument(
        "--earlier",
        metavar="FILE",
        help="an earlier checkpoint the log must extend (no rewritten history)",
    )

    add_command(
        actions,
        "check",
        "check the stored log against its checkpoints",
        cmd_audit_check,
        description="The hub's own integrity check: the stored log against every stored"
        " checkpoint.",
    )

    fetch = add_command(
        actions,
        "fetch",
        "fetch records [START, END) from the hub with their proofs (auditor role)",
        cmd_audit_fetch,
        parents=[_as_auditor()],
    )
    fetch.add_argument("start", type=int, help="index of the first record")
    fetch.add_argument("end", type=int, help="index one past the last record")
    fetch.add_argument(
        "--out", required=True, metavar="FILE", help="where to write them (JSON Lines)"
    )

    follow = add_command(
        actions,
        "follow",
        "print records as they are logged, one per line (auditor role; Ctrl-C stops)",
        cmd_audit_follow,
        parents=[_as_auditor()],
        description="Print records as they are logged, one per line: INDEX, a tab, the record"
        " as JSON (auditor role; Ctrl-C stops). The filters combine.",
    )
    follow.add_argument(
        "--after",
        type=int,
        metavar="INDEX",
        help="start after this index (default: all, from the first record)",
    )
    follow.add_argument("--client", metavar="MEMBER_ID", help="only calls made by this member")
    follow.add_argument("--service", metavar="SERVICE_ID", help="only calls to this service")
    follow.add_argument(
        "--decision", choices=["RELEASED", "REFUSED"], help="only calls with this decision"
    )
    follow.add_argument(
        "--reason", help="only calls refused for this reason code, e.g. CONSENT_REVOKED"
    )
    follow.add_argument(
        "--kind",
        choices=["call", "break-glass-review", "officer-event"],
        help="only records of this kind: exchanges and calls, officers' break-glass reviews,"
        " or the console's reports of officers' logins, lockouts and exports",
    )
    follow.add_argument(
        "--break-glass", action="store_true", help="only break-glass exchanges, for review"
    )
    follow.add_argument("--officer", help="only officer events about this officer")
    follow.add_argument(
        "--event",
        choices=["login", "login-failed", "logout", "lockout", "export"],
        help="only officer events of this kind",
    )

    anomaly = add_command(
        actions,
        "anomalies",
        "flag unusual patterns in a window of the log (auditor role)",
        cmd_audit_anomalies,
        parents=[_as_auditor()],
        description="Flag unusual patterns in a window of the log, each explained with the"
        " records behind it: a client's volume far above its own baseline, a burst of"
        " refusals, calls outside office hours, one citizen looked up by many clients or"
        " repeatedly, an officer looking up one citizen repeatedly, a consent used more than"
        " its purpose needs (docs/officers.md). Reads the records as an auditor.",
        epilog="Thresholds: --thresholds FILE, else the home's anomalies.yaml if there is"
        " one, else the shipped defaults (jembatan/insights/anomalies.yaml). Exit status: 0 no"
        " flag; 1 flags raised; 2 a usage error (a bad option or thresholds file); 3 the hub"
        " could not be reached. The hub home is given before the command: jembatan --home"
        " DIR audit anomalies ….",
    )
    anomaly.add_argument(
        "--since",
        metavar="WHEN",
        help="the window's start: a time with its offset (2026-08-17T08:00:00+07:00) or a"
        " duration back from --until (30m, 24h, 7d) (default: the thresholds' window, 7d)",
    )
    anomaly.add_argument(
        "--until",
        metavar="WHEN",
        help="the window's end, as --since (default: now)",
    )
    anomaly.add_argument(
        "--thresholds",
        metavar="FILE",
        help="a YAML thresholds file (default: HOME/anomalies.yaml if present, else the"
        " shipped defaults)",
    )
    anomaly.add_argument("--json", action="store_true", help="print the flags as one JSON document")
    anomaly.add_argument(
        "--lang",
        choices=["id", "en"],
        default="en",
        help="the language of the explanations",
    )
