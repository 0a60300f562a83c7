from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd

from alliance.reports.html import ReportInput, render_report, table_html
from alliance.reports.svg import (
    Band,
    Line,
    Marker,
    interval_plot,
    line_chart,
    nice_ticks,
    whole_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_line_chart_is_valid_accessible_svg() -> None:
    svg = line_chart(
        [Line("client", [1, 2, 3, 4], [50, 48, None, 52]), Line("clinician", [1, 2], [55, 56])],
        title="C1 <wai-sr>",
        markers=[Marker(2, 48, "session 2: drop")],
        bands=[Band([1, 2, 3], [40, 41, 42], [60, 61, 62], "expected")],
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "C1 <wai-sr>"
    assert "2→48" in root.find(f"{SVG}desc").text
    assert len(root.findall(f"{SVG}polyline")) == 3  # the gap splits the client's line
    assert len(root.findall(f"{SVG}polygon")) == 2  # band and marker
    assert "href" not in svg and "<script" not in svg


def test_interval_plot_marks_each_row() -> None:
    svg = interval_plot([("within", -0.25, -0.3, -0.2), ("between", 0.1, -0.1, 0.3)], title="m")
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle")) == 2
    assert "within: -0.25 (-0.3 to -0.2)" in root.find(f"{SVG}desc").text


def test_nice_ticks() -> None:
    assert nice_ticks(12, 60) == [20, 30, 40, 50, 60]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-0.33, 0.1) == [-0.3, -0.2, -0.1, 0, 0.1]


def _x_ticks(svg: str) -> list[str]:
    """The labels under the x axis (text anchored in the middle, above the axis title)."""
    root = ET.fromstring(svg)
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    return [str(t.text) for t in labels[:-1]]  # the last is the axis title


def test_session_ticks_are_whole_numbers() -> None:
    two = line_chart([Line("client", [1, 2], [50, 40])], title="t")
    assert _x_ticks(two) == ["1", "2"]  # not 1, 1.1, … 2
    one = line_chart([Line("client", [3], [50])], title="t")
    assert _x_ticks(one) == ["3"]
    assert whole_ticks(1, 30) == [5, 10, 15, 20, 25, 30]
    assert _x_ticks(line_chart([Line("c", [0, 1], [1, 2])], title="t", whole_x=False))[:2] == [
        "0",
        "0.1",
    ]


def test_report_is_self_contained_and_escapes_text() -> None:
    tidy = pd.DataFrame({"client": ["<b>A"] * 3, "episode": "1", "session": [1, 2, 3],
                         "instrument": "wai-sr", "perspective": "client", "stance": "self",
                         "scale": "total", "score": [50.0, 40.0, 50.0]})  # fmt: skip
    signals = pd.DataFrame({"client": ["<b>A"], "episode": "1", "session": [2],
                            "instrument": "wai-sr", "scale": "total", "rule": "drop_from_previous",
                            "severity": "medium", "value": [40.0], "reference": [50.0],
                            "provenance": "published: x"})  # fmt: skip
    report = ReportInput(title="Report", tidy=tidy, signals=signals, clients=pd.DataFrame(),
                         alliance=("wai-sr", "total"))  # fmt: skip
    page = render_report(report)
    assert "<b>A" not in page and "&lt;b&gt;A" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<svg") == 1 and "<script" not in page
    assert "(none)" in table_html(pd.DataFrame())
