"""The Grafana dashboard (deploy/grafana/dashboards/jembatan.json): valid JSON that Grafana's
provisioning in the compose file loads, every query parsed by Prometheus's own parser
(promtool), reading the compose file's one data source, and covering what an operator
watches. That each metric it reads is one the hub exposes is checked against a real hub's
scrape in tests/integration/test_operations.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.promql import DASHBOARD, ROOT, dashboard, metric_names, parse_problems
from tests.promql import dashboard_queries as queries

GRAFANA = ROOT / "deploy" / "grafana"


def _datasource() -> dict:  # type: ignore[type-arg]
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    return source  # type: ignore[no-any-return]


def test_every_query_parses(tmp_path: Path) -> None:
    expressions = queries()
    assert len(expressions) >= 20
    assert parse_problems(expressions, tmp_path) == ""


def test_a_query_that_does_not_parse_is_caught(tmp_path: Path) -> None:
    problems = parse_problems(["sum by (stage (rate(jembatan_exchanges_total[1m]))"], tmp_path)
    assert "parse error" in problems


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    read = set().union(*(metric_names(e) for e in queries()))
    assert {
        "jembatan_exchanges_total",  # exchanges by decision, refusals by reason
        "jembatan_stage_duration_seconds_bucket",
        "jembatan_connector_request_duration_seconds_bucket",
        "jembatan_connector_up",
        "jembatan_audit_log_entries",
        "jembatan_checkpoint_age_seconds",
        "jembatan_witness_last_cosigned_timestamp_seconds",
        "jembatan_exchanges_running",
        "jembatan_admission_refusals_total",
        "jembatan_grpc_calls_total",
        "jembatan_certificate_expiry_seconds",
        "jembatan_build_info",
    } <= read
    text = "\n".join(queries())
    assert 'decision="REFUSED"' in text and "by (reason)" in text and "by (decision)" in text


def test_panels_are_distinct_placed_and_read_the_provisioned_source() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    uid = _datasource()["uid"]
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["description"], panel["title"]
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
    # No two panels overlap.
    cells = set()
    for panel in panels:
        g = panel["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))


def test_compose_provisions_the_data_source_and_the_dashboard() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    grafana = services["grafana"]
    mounts = dict(v.removesuffix(":ro").split(":", 1) for v in grafana["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/jembatan.yml").read_text())
    (provider,) = providers["providers"]
    # The provider reads the directory the dashboard file is mounted into.
    mounted = Path(mounts["./deploy/grafana/dashboards"])
    assert Path(provider["options"]["path"]) == mounted
    assert (GRAFANA / "dashboards" / DASHBOARD.name).is_file()
    # Grafana opens on it.
    home = Path(grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == mounted / DASHBOARD.name
    # The data source is the compose file's Prometheus, on its port.
    source = _datasource()
    assert source["type"] == "prometheus" and source["isDefault"]
    port = services["prometheus"]["ports"][0].split(":")[-1]
    assert source["url"] == f"http://prometheus:{port}"
    assert "prometheus" in grafana["depends_on"]
