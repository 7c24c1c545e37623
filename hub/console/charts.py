"""The dashboard's charts as server-rendered SVG: no script, nothing from the internet.

Each function lays a chart out here (numbers in, coordinates out) and renders it with a
small Jinja2 template under ``templates/charts/``, in whatever environment the console's
pages use. Every chart is an image with a name and a description (``role="img"``,
``<title>``, ``<desc>``), every bar carries its exact figure in words (a ``<title>`` and a
text label), and the colours are the Okabe-Ito palette's blue and vermillion with a dark
grey: told apart with any colour vision, each at least 3:1 against the white page (WCAG
2.1 AA for graphics) and the text at 16:1. The caller passes the words, already in the
officer's language.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from jembatan.insights.summary import DENIED, KINDS, REFUSED, RELEASED, Hour

INK = "#1F1F1F"
COLOURS: Mapping[str, str] = {RELEASED: "#0072B2", DENIED: "#D55E00", REFUSED: "#5C5C5C"}
BAR = COLOURS[RELEASED]
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    short: str
    value: int
    x: float
    y: float
    width: float
    height: float
    colour: str


def _chart_id(prefix: str) -> str:
    """An id unique in the page, for aria-labelledby."""
    return f"{prefix}-{next(_ids)}"


def _scale(value: int, peak: int, height: float) -> float:
    return round(height * value / peak, 2) if peak else 0.0


def _short(label: str, length: int = 14) -> str:
    # The full label stays in the bar's <title>; under a narrow bar only its tail fits
    # (a member id's last part says most).
    tail = label.rsplit("/", 1)[-1]
    return tail if len(tail) <= length else tail[: length - 1] + "…"


def bar_chart(
    env: jinja2.Environment,
    *,
    title: str,
    desc: str,
    bars: Sequence[tuple[str, int]],
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Vertical bars, one per (label, count): refusals by reason, say."""
    top, bottom, left = 20.0, 24.0, 4.0
    plot = height - top - bottom
    peak = max((value for _, value in bars), default=0)
    slot = (width - left) / max(len(bars), 1)
    laid = [
        _Bar(
            label=label,
            short=_short(label),
            value=value,
            x=round(left + i * slot + slot * 0.15, 2),
            y=round(top + plot - _scale(value, peak, plot), 2),
            width=round(slot * 0.7, 2),
            height=_scale(value, peak, plot),
            colour=BAR,
        )
        for i, (label, value) in enumerate(bars)
    ]
    chart = {
        "id": _chart_id("bars"),
        "title": title,
        "desc": desc,
        "width": width,
        "height": height,
        "left": left,
        "baseline": top + plot,
        "ink": INK,
        "bars": laid,
    }
    return Markup(env.get_template("charts/bars.svg").render(chart=chart))


def hourly_chart(
    env: jinja2.Environment,
    *,
    title: str,
    desc: str,
    hours: Sequence[Hour],
    series: Mapping[str, str],
    zone: datetime.tzinfo,
    zone_name: str,
    width: int = 720,
    height: int = 240,
    labels: int = 12,
) -> Markup:
    """Exchanges per hour stacked by kind (``series``: each kind's name in the officer's
    language), hours labelled in ``zone`` (named ``zone_name``, e.g. WIB) every few bars
    (about ``labels`` of them: fewer fit a narrow chart)."""
    # The legend on one line, or one name a line where three do not fit side by side.
    stacked = width < 560
    top, bottom, left = (64.0 if stacked else 28.0), 30.0, 36.0
    plot = height - top - bottom
    peak = max((h.released + h.denied + h.refused for h in hours), default=0)
    slot = (width - left) / max(len(hours), 1)
    every = max(1, round(len(hours) / labels))
    columns = []
    for i, hour in enumerate(hours):
        counts = {RELEASED: hour.released, DENIED: hour.denied, REFUSED: hour.refused}
        y = top + plot
        segments = []
        for kind in KINDS:
            size = _scale(counts[kind], peak, plot)
            y -= size
            if size:
                segments.append({"y": round(y, 2), "height": size, "colour": COLOURS[kind]})
        moment = datetime.datetime.fromtimestamp(hour.start, zone)
        columns.append(
            {
                "x": round(left + i * slot + slot * 0.1, 2),
                "width": round(slot * 0.8, 2),
                "label": moment.strftime("%H:%M"),
                "summary": ", ".join(f"{series[k]} {counts[k]}" for k in KINDS),
                "segments": segments,
                "show_label": i % every == 0,
            }
        )
    chart = {
        "id": _chart_id("hourly"),
        "title": title,
        "desc": desc,
        "width": width,
        "height": height,
        "left": left,
        "top": top,
        "baseline": top + plot,
        "peak": peak,
        "ink": INK,
        "zone": zone_name,
        "series": [
            {
                "label": series[k],
                "colour": COLOURS[k],
                "x": left if stacked else left + n * (width - left) / 3,
                "y": 4 + 18 * n if stacked else 4,
            }
            for n, k in enumerate(KINDS)
        ],
        "columns": columns,
    }
    return Markup(env.get_template("charts/hourly.svg").render(chart=chart))


def top_chart(
    env: jinja2.Environment,
    *,
    title: str,
    desc: str,
    items: Sequence[tuple[str, int]],
    width: int = 360,
) -> Markup:
    """Horizontal bars for a top-N list (clients, services): each name in full above its
    bar, so long member ids need no cutting."""
    bar_height, gap = 14.0, 22.0
    peak = max((value for _, value in items), default=0)
    room = width - 56  # for the count after the longest bar
    rows = [
        {
            "label": label,
            "value": value,
            "y": gap + i * (bar_height + gap),
            "width": max(_scale(value, peak, room), 1.0),
        }
        for i, (label, value) in enumerate(items)
    ]
    chart = {
        "id": _chart_id("top"),
        "title": title,
        "desc": desc,
        "width": width,
        "height": int(gap + len(items) * (bar_height + gap)),
        "ink": INK,
        "colour": BAR,
        "bar_height": bar_height,
        "rows": rows,
    }
    return Markup(env.get_template("charts/top.svg").render(chart=chart))
