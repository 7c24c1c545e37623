"""Start the hub's pieces as real processes and wait until they listen.

The demo, the tests and the benchmarks run ``jembatan serve`` and ``jembatan sim`` as
separate processes on loopback, exactly as an operator would.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from jembatan.errors import JembatanError

_READY = re.compile(r"listening on (\S+:\d+)")


class ProcessFailed(JembatanError, RuntimeError):
    pass


@dataclass
class RunningProcess:
    name: str
    process: subprocess.Popen[str]
    address: str
    # The whole line that said so: some processes name more addresses on it.
    ready_line: str = ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_jembatan(
    name: str,
    args: Sequence[str],
    *,
    timeout_s: float = 30.0,
    env: dict[str, str] | None = None,
    stderr: IO[str] | None = None,
) -> RunningProcess:
    """Run ``jembatan ARGS`` and wait for its ``listening on HOST:PORT`` line."""
    return start_module(name, "hub.cli", args, timeout_s=timeout_s, env=env, stderr=stderr)


def start_module(
    name: str,
    module: str,
    args: Sequence[str],
    *,
    timeout_s: float = 30.0,
    env: dict[str, str] | None = None,
    stderr: IO[str] | None = None,
) -> RunningProcess:
    """Run ``python -m MODULE ARGS`` and wait for its ``listening on HOST:PORT`` line;
    its log (stderr) goes to ``stderr`` if given, else where this process's goes."""
    return start_command(
        name, [sys.executable, "-m", module, *args], timeout_s=timeout_s, env=env, stderr=stderr
    )


def start_command(
    name: str,
    argv: Sequence[str],
    *,
    timeout_s: float = 30.0,
    env: dict[str, str] | None = None,
    stderr: IO[str] | None = None,
    cwd: Path | None = None,
) -> RunningProcess:
    """Run ``argv`` (in ``cwd``, if given) and wait for its ``listening on HOST:PORT`` line;
    its log (stderr) goes to ``stderr`` if given, else where this process's goes."""
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    # A reader thread keeps draining stdout so the child never blocks on a full pipe.
    threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
    try:
        ready_line, address = _ready(lines, timeout_s)
    except (queue.Empty, ProcessFailed) as exc:
        process.kill()
        process.wait()
        why = "no 'listening on' line in time" if isinstance(exc, queue.Empty) else str(exc)
        raise ProcessFailed(f"{name} did not start: {why}") from exc
    return RunningProcess(name, process, address, ready_line.strip())


def _pump(process: subprocess.Popen[str], lines: queue.SimpleQueue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _ready(lines: queue.SimpleQueue[str | None], timeout_s: float) -> tuple[str, str]:
    """(the ``listening on`` line, the address it names)."""
    while True:
        line = lines.get(timeout=timeout_s)
        if line is None:
            raise ProcessFailed("exited before listening")
        match = _READY.search(line)
        if match:
            return line, match.group(1)
