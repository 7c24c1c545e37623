"""What the tests of the alert rules and the dashboard share: the metric names a PromQL
expression reads, and whether promtool's parser accepts an expression."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMTOOL = ROOT / ".tools" / "promtool"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "jembatan.json"
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


# Grafana's interval variable, which Prometheus does not know: what it stands for.
_GRAFANA_VARIABLES = {"$__rate_interval": "1m"}


def dashboard() -> dict:  # type: ignore[type-arg]
    return json.loads(DASHBOARD.read_text())  # type: ignore[no-any-return]


def dashboard_queries() -> list[str]:
    """Every PromQL expression of the dashboard, with Grafana's variables filled in."""
    expressions = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expression = target["expr"]
            for variable, value in _GRAFANA_VARIABLES.items():
                expression = expression.replace(variable, value)
            assert "$" not in expression, f"unknown variable in {expression}"
            expressions.append(expression)
    return expressions
