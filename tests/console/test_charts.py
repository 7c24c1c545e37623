"""The dashboard's SVG charts: well-formed, named and described for a screen reader, every
figure in words, labels escaped whatever the environment says, colours that pass WCAG AA."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
import zoneinfo
from pathlib import Path

import jinja2
import pytest

from hub.console.charts import COLOURS, INK, bar_chart, hourly_chart, top_chart
from jembatan.insights.summary import Hour

SVG = "{http://www.w3.org/2000/svg}"
TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "console" / "templates"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def env() -> jinja2.Environment:
    # Autoescape off on purpose: the chart templates must escape by themselves.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False)


def _parsed(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    return root


def _figures(root: ET.Element, group: str) -> list[str]:
    return [
        g.find(f"{SVG}title").text or "" for g in root.iter(f"{SVG}g") if g.get("class") == group
    ]


def test_a_bar_chart_names_each_bar_and_its_count(env: jinja2.Environment) -> None:
    markup = bar_chart(
        env,
        title="Penolakan menurut alasan",
        desc="Tiga alasan",
        bars=[("CONSENT_MISSING", 12), ("RATE_LIMITED", 3), (HOSTILE, 6)],
    )
    root = _parsed(markup)
    assert root.find(f"{SVG}title").text == "Penolakan menurut alasan"
    assert _figures(root, "bar") == ["CONSENT_MISSING: 12", "RATE_LIMITED: 3", f"{HOSTILE}: 6"]
    assert "<script>" not in markup
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert heights[0] == pytest.approx(4 * heights[1]) == pytest.approx(2 * heights[2])


def test_hourly_bars_stack_by_decision_with_a_legend_in_words_and_wib_hours(
    env: jinja2.Environment,
) -> None:
    midnight_utc = datetime.datetime(2026, 8, 17, tzinfo=datetime.UTC).timestamp()
    hours = [Hour(midnight_utc + 3600 * i, 10 * i, i, 2) for i in range(3)]
    markup = hourly_chart(
        env,
        title="Pertukaran per jam",
        desc="Tiga jam terakhir",
        hours=hours,
        series={"released": "Dirilis", "denied": "Ditolak kebijakan", "refused": "Ditolak lain"},
        zone=zoneinfo.ZoneInfo("Asia/Jakarta"),
        zone_name="WIB",
    )
    root = _parsed(markup)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Dirilis", "Ditolak kebijakan", "Ditolak lain", "WIB", "07:00"} <= set(texts)
    assert _figures(root, "hour") == [
        "07:00: Dirilis 0, Ditolak kebijakan 0, Ditolak lain 2",
        "08:00: Dirilis 10, Ditolak kebijakan 1, Ditolak lain 2",
        "09:00: Dirilis 20, Ditolak kebijakan 2, Ditolak lain 2",
    ]
    (last,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "hour"][-1:]
    fills = [r.get("fill") for r in last.iter(f"{SVG}rect")]
    assert fills == [COLOURS["released"], COLOURS["denied"], COLOURS["refused"]]


def test_a_top_list_shows_full_member_ids_escaped(env: jinja2.Environment) -> None:
    items = [("ID/GOV/KEMENSOS/eligibility", 40), ("ID/GOV/BPJSTK/wages-check", 10), (HOSTILE, 1)]
    markup = top_chart(env, title="Klien teratas", desc="Tiga klien", items=items)
    root = _parsed(markup)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "ID/GOV/KEMENSOS/eligibility" in labels and HOSTILE in labels
    assert "<script>" not in markup
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == pytest.approx(4 * widths[1])


def test_an_empty_chart_still_renders(env: jinja2.Environment) -> None:
    _parsed(bar_chart(env, title="Tidak ada penolakan", desc="Kosong", bars=[]))
    _parsed(top_chart(env, title="Tidak ada klien", desc="Kosong", items=[]))


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_pass_wcag_aa_on_white() -> None:
    assert all(_contrast(c, "#FFFFFF") >= 3 for c in COLOURS.values())
    assert _contrast(INK, "#FFFFFF") >= 4.5
