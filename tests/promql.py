"""What the tests of the alert rules and the dashboard share: the metric names a PromQL
expression reads, and whether promtool's parser accepts an expression."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMTOOL = ROOT / ".tools" / "promtool"
# Ours and the process collector's; Prometheus's own `up` and label names never match.
_METRIC = re.compile(r"\b((?:jembatan|process)_[a-z0-9_]+)\b")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def metric_names(expression: str) -> set[str]:
    """The hub's metric names ``expression`` reads (label values left out)."""
    return set(_METRIC.findall(_STRING.sub('""', expression)))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    # Failing, not skipping: `make test` puts promtool there (Makefile).
    assert PROMTOOL.exists(), f"{PROMTOOL} missing: run make .tools/promtool"
    return subprocess.run(
        [str(PROMTOOL), *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def parse_problems(expressions: Iterable[str], directory: Path) -> str:
    """promtool's complaints about ``expressions`` ("" if every one parses): Prometheus's
    own parser, reached through `promtool check rules` on a file of recording rules."""
    rules = [{"record": f"check:expression_{n}", "expr": e} for n, e in enumerate(expressions)]
    path = directory / "expressions.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    checked = promtool("check", "rules", str(path))
    return "" if checked.returncode == 0 else checked.stdout + checked.stderr
