"""The Prometheus alert rules (deploy/alerts.yml): they load, Prometheus's config loads
them, and every rule fires and stays quiet when it should, by `promtool test rules`
(deploy/alerts.test.yml). That the metrics they read are ones the hub exposes is checked
against a real hub's scrape in tests/integration/test_operations.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.promql import ROOT, promtool

DEPLOY = ROOT / "deploy"
REQUIRED = {
    "JembatanHubDown",
    "JembatanAuditUnavailable",
    "JembatanCheckpointStale",
    "JembatanWitnessStale",
    "JembatanRefusalRateSpike",
    "JembatanConnectorDown",
    "JembatanCertificateExpiring",
}


def _rules() -> list[dict]:  # type: ignore[type-arg]
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_the_operators_need_is_there_with_a_severity_and_words() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == REQUIRED
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_prometheus_loads_the_config_and_its_rules() -> None:
    checked = promtool("check", "config", str(DEPLOY / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_each_rule_fires_and_stays_quiet_when_it_should() -> None:
    tested = promtool("test", "rules", str(DEPLOY / "alerts.test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # Each rule has at least one case where it fires and one where it must not.
    tests = yaml.safe_load((DEPLOY / "alerts.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    quiet = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert firing == REQUIRED and quiet == REQUIRED


def test_the_rule_tests_can_fail(tmp_path: Path) -> None:
    # The same tests against rules that never fire: promtool must say so.
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["expr"] = "vector(1) == 2"
    broken, suite = tmp_path / "alerts.yml", tmp_path / "alerts.test.yml"
    broken.write_text(yaml.safe_dump(rules))
    suite.write_text((DEPLOY / "alerts.test.yml").read_text())
    tested = promtool("test", "rules", str(suite))
    assert tested.returncode != 0
    for name in REQUIRED:
        assert f"alertname: {name}," in tested.stdout + tested.stderr, name
