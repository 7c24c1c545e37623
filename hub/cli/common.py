"""What the command groups share: defaults, the help formatter, parent parsers, helpers.

Importing this module stays cheap (no gRPC, no cryptography): every command group imports
it when the parser is built, and ``jembatan --help`` builds the whole parser.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import textwrap
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hub.home import HubHome
from jembatan.errors import JembatanError

if TYPE_CHECKING:
    from jembatan.client import HubClient, MemberChannel

DEFAULT_HUB = "127.0.0.1:7443"
PURPOSE = "bansos-eligibility"
ELIGIBILITY = "ID/GOV/KEMENSOS/eligibility"
ADMINISTRATOR = "ID/GOV/SPLP/administrator"
AUDITOR = "ID/GOV/BSSN/auditor"
# The officers' web console: its own member, with the auditor and console roles (it names
# each officer to the hub), so an officer's own auditor certificate cannot vouch for anyone.
CONSOLE_MEMBER = "ID/GOV/BSSN/console"
ROLES_HELP = "a role to put in the certificate: auditor, administrator, approver or console"
# RFC 5280's CRLReason codes for a revocation for good (not certificateHold, which a later
# removeFromCRL lifts: a hub revocation is never lifted), spelled as on the command line.
REVOCATION_REASONS = (
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "privilege-withdrawn",
    "aa-compromise",
)
REVOCATION_REASON_HELP = "why, recorded with the revocation: an RFC 5280 reason"
DATABASE_HELP = (
    "PostgreSQL DSN (postgresql://…) holding the registry and audit log, shared by hub"
    " replicas (default: $JEMBATAN_DATABASE, else the home's SQLite file)"
)

Command = Callable[[argparse.Namespace], None]
T = TypeVar("T")
C = TypeVar("C", bound="MemberChannel")


class CliError(JembatanError):
    """A problem with what the user asked for, explained in one line."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default as ``(default: …)``, when it has one worth showing.

    None, False, an empty string or list (an option that is off, or repeatable and not
    given) show nothing: the option's help says what its absence means instead.
    Descriptions and epilogs wrap to the terminal, except indented lines (examples), which
    keep their layout; no line breaks at a hyphen (``bansos-eligibility`` stays whole).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or (isinstance(default, str | list) and not default):
            return action.help
        return super()._get_help_string(action)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            wrapped = textwrap.wrap(
                " ".join(paragraph),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            lines.extend(wrapped)
            paragraph.clear()

        for line in text.splitlines():
            if line[:1].isspace() or not line.strip():
                flush()
                lines.append(indent + line if line.strip() else "")
            else:
                paragraph.append(line.strip())
        flush()
        return "\n".join(lines)


def add_command(
    group: argparse._SubParsersAction,
    name: str,
    help_text: str,
    func: Command | None = None,
    *,
    description: str | None = None,
    parents: Sequence[argparse.ArgumentParser] = (),
    epilog: str | None = None,
    home_note: bool = True,
) -> argparse.ArgumentParser:
    """A subcommand running ``func`` (a group of actions when None), with this help.

    Its description is ``help_text`` as a sentence unless given. A command (not a group)
    without an ``epilog`` of its own ends its help saying where ``--home`` goes (before the
    command), unless ``home_note`` is False: a command that does not use the home.
    """
    sub: argparse.ArgumentParser = group.add_parser(
        name,
        help=help_text,
        description=description or f"{help_text[0].upper()}{help_text[1:]}.",
        parents=parents,
        formatter_class=HelpFormatter,
    )
    if func is not None:
        sub.set_defaults(func=func)
    if epilog is None and home_note and func is not None:
        # sub.prog is "jembatan pki init": the global options go after "jembatan".
        command = sub.prog.partition(" ")[2]
        epilog = (
            f"The hub home is given before the command: jembatan --home DIR {command} …"
            " ($JEMBATAN_HOME, else ./jembatan-home); so are --database DSN and -v."
        )
    sub.epilog = epilog
    return sub


def add_actions(
    parser: argparse.ArgumentParser, dest: str, *, required: bool = True, help_text: str = "one of:"
) -> argparse._SubParsersAction:
    """The actions of a command group (``jembatan pki ACTION``)."""
    return parser.add_subparsers(
        dest=dest,
        required=required,
        metavar="ACTION" if required else "[ACTION]",
        title="actions",
        help=help_text,
    )


def _connection() -> tuple[argparse.ArgumentParser, argparse._ArgumentGroup]:
    """A parent parser with its "connecting to the hub" options: ``--hub`` so far."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connecting to the hub")
    group.add_argument(
        "--hub", default=DEFAULT_HUB, metavar="HOST:PORT", help="the hub's gRPC address"
    )
    return parent, group


def hub_option() -> argparse.ArgumentParser:
    """A parent parser: ``--hub``, for commands that call the hub as a member of the home
    the command itself chooses (the consent manager)."""
    return _connection()[0]


def member_connection(
    member: str | None,
    *,
    flag: str = "--member",
    member_help: str = "the calling member id; its key.pem and cert.pem are under the home",
    member_dir: bool = True,
    ca: bool = False,
) -> argparse.ArgumentParser:
    """A parent parser: ``--hub`` and who calls it (``--member`` unless ``flag`` says
    otherwise, required when ``member`` is None), with ``--member-dir`` and ``--ca``."""
    parent, group = _connection()
    group.add_argument(
        flag, default=member, required=member is None, metavar="MEMBER_ID", help=member_help
    )
    if member_dir:
        group.add_argument(
            "--member-dir",
            metavar="DIR",
            help="the directory holding its key.pem and cert.pem (default: the member's"
            " directory under the home)",
        )
    if ca:
        group.add_argument(
            "--ca",
            metavar="FILE",
            help="the hub CA certificate to check the hub by (default: the home's)",
        )
    return parent


# --- helpers for the commands ------------------------------------------------------------


def home(args: argparse.Namespace, *, initialised: bool = True) -> HubHome:
    """The hub home ``--home`` names; unless ``initialised`` is False (``pki init`` makes
    it), one ``pki init`` made: checked here, before anything opens or creates a file in it."""
    hub_home = HubHome(Path(args.home), database_url=database(args))
    if initialised and not hub_home.ca_cert.is_file():
        state = "is not a hub home" if hub_home.root.exists() else "does not exist"
        raise CliError(
            f"{hub_home.root} {state}: run `jembatan pki init` there first, or name the home"
            " with --home DIR (before the command) or $JEMBATAN_HOME"
        )
    return hub_home


def check_free(listen: str) -> None:
    """Refuse, in one line, to listen on an address something already holds: told here,
    before gRPC core would log its own lines about it. Port 0 (any free port) always is."""
    import socket

    host, _, port = listen.rpartition(":")
    if int(port) == 0:
        return
    host = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as probe:
            # As gRPC binds: an address in TIME_WAIT only is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        problem = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror or exc
        raise CliError(f"cannot listen on {listen}: {problem}") from exc


def listen_address(text: str) -> str:
    """``--listen``'s HOST:PORT (an argparse type): a host, and a port 0-65535 (0: any)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with a port from 0 to 65535 (0: any free port), not {text!r}"
        )
    return text


def database(args: argparse.Namespace) -> str | None:
    """``--database``, else ``$JEMBATAN_DATABASE`` (read here, not as the option's default,
    so that ``--help`` never shows a DSN and its password), else None: the home's SQLite."""
    given = args.database
    if given is None:
        given = os.environ.get("JEMBATAN_DATABASE", "")
    return given or None


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, imported only when a command runs (not for ``--help``)."""
    import asyncio

    return asyncio.run(coroutine)


async def until_signalled() -> None:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def text_arg(value: str, option: str) -> str:
    """The value of ``option``, given inline, or as ``@FILE``: that file's text."""
    if not value.startswith("@"):
        return value
    return read(value[1:], option).decode("utf-8", "replace").strip()


def write_or_print(path: str | None, text: str) -> None:
    if path:
        Path(path).write_text(text)
    else:
        print(text, end="")


def read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}") from exc


def member_credentials(
    home: HubHome, member_id: str, member_dir: str | None = None
) -> tuple[bytes, bytes]:
    """``member_id``'s key.pem and cert.pem: in ``member_dir`` if given, else under the home."""
    directory = Path(member_dir) if member_dir else home.member_dir(member_id)
    try:
        return (directory / "key.pem").read_bytes(), (directory / "cert.pem").read_bytes()
    except OSError as exc:
        raise CliError(f"no member key/certificate in {directory}") from exc


def client(home: HubHome, member_id: str, target: str, member_dir: str | None = None) -> HubClient:
    """A query client to the hub at ``target`` with ``member_id``'s key and certificate."""
    from jembatan.client import HubClient
    from jembatan.keys import load_ed25519_public_pem

    key_pem, cert_pem = member_credentials(home, member_id, member_dir)
    return HubClient(
        target,
        key_pem=key_pem,
        cert_pem=cert_pem,
        ca_pem=home.ca_cert.read_bytes(),
        log_key=load_ed25519_public_pem(home.log_public_key.read_bytes()),
    )


def connected(connect: Callable[[], C], act: Callable[[C], Awaitable[T]]) -> T:
    """What ``act`` makes of the hub over the channel ``connect`` opens, closed after.
    The channel is opened inside the event loop, where gRPC wants it."""

    async def run() -> T:
        async with connect() as channel:
            return await act(channel)

    return run_async(run())


def hub_call(
    home: HubHome,
    member_id: str,
    target: str,
    act: Callable[[HubClient], Awaitable[T]],
    member_dir: str | None = None,
) -> T:
    """What ``act`` makes of the hub at ``target`` with a query client of ``member_id``."""
    return connected(lambda: client(home, member_id, target, member_dir), act)


def add_tracing_option(parser: argparse.ArgumentParser) -> None:
    """``--otlp-endpoint``: where the process sends its spans (``jembatan.tracing``)."""
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="send traces over OTLP/gRPC to the collector at URL, e.g. http://127.0.0.1:4317"
        " (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT;"
        " neither: no traces)",
    )


def start_tracing(args: argparse.Namespace, service_name: str) -> None:
    """Turn tracing on as ``--otlp-endpoint`` or the environment says, before any server or
    client is made (they take the process's tracer when they are); a URL that is no URL is
    a one-line error."""
    from urllib.parse import urlsplit

    from jembatan.tracing import configure, otlp_endpoint

    endpoint = otlp_endpoint(args.otlp_endpoint)
    if endpoint is not None:
        where = urlsplit(endpoint)
        if where.scheme not in ("http", "https") or not where.hostname:
            raise CliError(f"OTLP endpoint {endpoint!r}: expected http://HOST:PORT or https://…")
    configure(service_name, endpoint)
