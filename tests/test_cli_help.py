"""Every `jembatan` command's help, walked from the real parser: it answers, every option
says what it is for, and every default worth knowing is shown as "(default: …)"."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from hub.cli import build_parser
from hub.cli.common import HelpFormatter


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _shows_default(action: argparse.Action) -> bool:
    """A default worth showing: not None, False or SUPPRESS, nor an empty string or list
    (an option that is off, or repeatable and not given: its help says what that means)."""
    default = action.default
    if default is None or default is False or default is argparse.SUPPRESS:
        return False
    return not (isinstance(default, str | list) and not default)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or action.dest


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def test_the_walk_finds_every_command() -> None:
    leaves = {" ".join(path) for path, parser in COMMANDS.items() if "func" in parser._defaults}
    # with approve, samples, anomalies, health, witness, portal (+ outbox, staff add, staff
    # list, cases verify)
    assert len(leaves) == 53
    assert {"pki init", "consent receipt", "audit follow", "admin service enable"} <= leaves
    assert {"member register-connector", "console add-officer", "policy explain"} <= leaves


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "jembatan")
def test_help_answers_with_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {' '.join(('jembatan', *path))} ")
    description = COMMANDS[path].description
    assert description and _flat(description)[:40] in _flat(out)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "jembatan")
def test_every_option_and_subcommand_has_help(path: tuple[str, ...]) -> None:
    parser = COMMANDS[path]
    assert issubclass(parser.formatter_class, HelpFormatter), "defaults would not be shown"
    for action in _arguments(parser):
        assert action.help and action.help is not argparse.SUPPRESS, _name(action)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, f"{choice.dest} has no help"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "jembatan")
def test_defaults_are_shown(path: tuple[str, ...]) -> None:
    parser = COMMANDS[path]
    rendered = _flat(parser.format_help())
    formatter = parser._get_formatter()
    for action in _arguments(parser):
        expanded = _flat(formatter._expand_help(action))  # what --help prints for it
        assert expanded in rendered, _name(action)
        assert expanded.count("(default:") <= 1, f"{_name(action)}: two defaults: {expanded}"
        if _shows_default(action):
            assert f"(default: {action.default})" in expanded, _name(action)


def test_help_imports_nothing_heavy() -> None:
    """`jembatan --help` builds the whole parser: without gRPC, protobuf, cryptography or
    asyncio, which the commands import when they run."""
    probe = (
        "import sys\n"
        "from hub.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = ('grpc', 'google.protobuf', 'cryptography', 'asyncio', 'jembatan.v1')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
