"""``jembatan witness``: run an independent witness of the hub's log, and compare what
witnesses were shown.

``init`` makes the witness's key in its own directory (never the hub home: a witness is run
by another institution, on another machine); ``serve`` runs the C2SP ``tlog-witness``
endpoint; ``check`` compares cosigned checkpoints, from files or fetched from witnesses,
and reports a log that showed two histories.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hub.cli.common import (
    CliError,
    add_actions,
    add_command,
    check_free,
    listen_address,
    read,
    run_async,
    text_arg,
    until_signalled,
)

DEFAULT_LISTEN = "127.0.0.1:7380"


def _directory(args: argparse.Namespace) -> Path:
    return Path(args.dir)


def cmd_witness_init(args: argparse.Namespace) -> None:
    from hub.witness.server import init_key

    try:
        vkey = init_key(_directory(args), args.name)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    print(vkey)


def cmd_witness_serve(args: argparse.Namespace) -> None:
    from hub.witness.server import KEY_FILE, Witness, default_name, init_key, load_key, serve
    from hub.witness.state import WitnessState
    from jembatan.audit.checkpoint import parse_verifier_key

    directory = _directory(args)
    logs = [text_arg(value, "--log") for value in args.log]
    for vkey in logs:
        parse_verifier_key(vkey)  # a bad key is a one-line error before anything starts
    if not (directory / KEY_FILE).exists():
        vkey = init_key(directory, args.name or default_name())
        print(f"witness key made in {directory}: {vkey}", flush=True)
    name, key = load_key(directory)
    check_free(args.listen)

    async def run() -> None:
        state = WitnessState(directory)
        try:
            runner, address = await serve(Witness(name, key, logs, state), args.listen)
            print(f"jembatan witness {name} listening on http://{address}", flush=True)
            await until_signalled()
            await runner.cleanup()
        finally:
            state.close()

    run_async(run())


def cmd_witness_check(args: argparse.Namespace) -> None:
    from jembatan.audit.checkpoint import ORIGIN, parse_verifier_key
    from jembatan.audit.verify import VerificationFailed
    from jembatan.audit.witness import find_splits, parse_cosigner_key

    log_key = text_arg(args.key, "--key")
    origin = parse_verifier_key(log_key)[0] if log_key else ORIGIN
    cosigners = [parse_cosigner_key(text_arg(w, "--witness")) for w in args.witness]
    notes = [_checkpoint(source, origin) for source in args.checkpoints]
    splits, unchecked = find_splits(notes, log_key, cosigners)
    for split in splits:
        print(f"✗ {split}")
    for smaller, larger in unchecked:
        print(
            f"? sizes {smaller} and {larger} not compared: that needs a consistency proof"
            " (audit verify --earlier with an export of the log checks it)"
        )
    if splits:
        raise VerificationFailed(f"the log showed {len(splits) + 1} histories to its witnesses")
    print(f"✓ no split view among {len(notes)} checkpoints")


def _checkpoint(source: str, origin: str) -> str:
    """A cosigned checkpoint: a file's text, or a witness's latest (an http(s):// URL)."""
    if not source.startswith(("http://", "https://")):
        return read(source, "checkpoint").decode("utf-8", "replace")
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{source.rstrip('/')}/checkpoint?{urllib.parse.urlencode({'origin': origin})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return str(answer.read().decode())
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"cannot fetch the checkpoint from {source}: {exc}") from None


def add_witness_commands(commands: argparse._SubParsersAction) -> None:
    witness = add_command(
        commands,
        "witness",
        "an independent witness of the hub's log (C2SP tlog-witness)",
        description="An independent witness of the hub's log: it keeps the latest checkpoint"
        " it verified, cosigns a new one only if a consistency proof shows it extends that"
        " one, and so catches a hub that rolls its log back or shows two histories. Run by"
        " another institution than the hub's operator, on its own machine.",
    )
    actions = add_actions(witness, "witness_command")
    directory = argparse.ArgumentParser(add_help=False)
    directory.add_argument(
        "--dir",
        default=os.environ.get("JEMBATAN_WITNESS_DIR", "witness-home"),
        metavar="DIR",
        help="the witness's directory: its key and its state ($JEMBATAN_WITNESS_DIR when set)",
    )

    init = add_command(
        actions,
        "init",
        "make the witness's Ed25519 key and print its key string",
        cmd_witness_init,
        parents=[directory],
        home_note=False,
        description="Make the witness's Ed25519 key in --dir (refused if one is there) and"
        " print its key string: give it to the hub's operator (serve --witness URL=KEY) and"
        " to clients that require this witness (audit verify --witness KEY).",
    )
    init.add_argument(
        "--name",
        required=True,
        help="the witness's name, e.g. witness.bssn.go.id/jembatan (no spaces or '+')",
    )

    serve = add_command(
        actions,
        "serve",
        "run the witness's HTTP endpoint (POST /add-checkpoint)",
        cmd_witness_serve,
        parents=[directory],
        home_note=False,
        description="Run the witness: POST /add-checkpoint cosigns a checkpoint of a log it"
        " follows when a consistency proof shows it extends the last one it cosigned;"
        " GET /checkpoint?origin=ORIGIN answers that last one. State is kept in --dir"
        " (SIGINT or SIGTERM stops it).",
    )
    serve.add_argument(
        "--log",
        required=True,
        action="append",
        metavar="KEY",
        help="a log to witness: its verifier key string, or @FILE (the hub's"
        " HOME/hub/log.vkey); repeat for more logs",
    )
    serve.add_argument(
        "--listen",
        type=listen_address,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help="where to serve HTTP; port 0: any free port",
    )
    serve.add_argument(
        "--name",
        help="the name for a key made on first start, when --dir has none"
        " (default: this host's name + /witness)",
    )

    check = add_command(
        actions,
        "check",
        "compare cosigned checkpoints and report a split view",
        cmd_witness_check,
        home_note=False,
        description="Compare cosigned checkpoints of one log, from files or fetched from"
        " witnesses (their URL): two of one size with different roots mean the log showed"
        " two histories. Exit status 1 when it did.",
    )
    check.add_argument(
        "checkpoints",
        nargs="+",
        metavar="FILE_OR_URL",
        help="a cosigned checkpoint file, or a witness's URL to fetch its latest from",
    )
    check.add_argument(
        "--key",
        required=True,
        help="the hub's verifier key string, or @FILE (HOME/hub/log.vkey)",
    )
    check.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness's key string or @FILE, to name who cosigned what; repeat",
    )
