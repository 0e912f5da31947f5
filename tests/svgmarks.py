"""Reading a report figure's marks back from its SVG, to check them against the data.

msmkit.report.draw gives each mark a ``gid`` (``<fig>-p<panel>-b<bar>``, ``-e``, ``-d``,
``-s``, ``-se``). In one panel every plotted number maps to a pixel by one affine map (log10
first on a log axis): :func:`fit` finds it from all the marks together and returns the worst
residual, so a single wrong number shows up as a residual of many pixels.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from typing import Any

SVG = "{http://www.w3.org/2000/svg}"
_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {el.get("id"): el for el in root.iter(f"{SVG}g") if el.get("id")}


def path_points(group: ET.Element) -> list[list[tuple[float, float]]]:
    """Each ``<path d>`` directly in the group (not in defs) as (x, y) points."""
    out = []
    for path in group.findall(f"{SVG}path"):
        numbers = [float(n) for n in _NUM.findall(path.get("d", ""))]
        out.append(list(zip(numbers[0::2], numbers[1::2], strict=True)))
    return out


def uses(group: ET.Element) -> list[tuple[float, float]]:
    return [(float(u.get("x")), float(u.get("y"))) for u in group.iter(f"{SVG}use")]


def fit(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least-squares ``pixel = a * value + b``; returns a, b and the worst residual."""
    n = len(pairs)
    mx = sum(v for v, _ in pairs) / n
    my = sum(p for _, p in pairs) / n
    sxx = sum((v - mx) ** 2 for v, _ in pairs)
    a = sum((v - mx) * (p - my) for v, p in pairs) / sxx
    b = my - a * mx
    return a, b, max(abs(a * v + b - p) for v, p in pairs)


def bar_panel_pairs(svg_groups: dict[str, ET.Element], fid: str, p: int, panel: dict[str, Any]):
    """(value, y pixel) of every bar top and base, interval end and seed dot of a panel."""
    pairs: list[tuple[float, float]] = []
    for i, bar in enumerate(panel["bars"]):
        [rect] = path_points(svg_groups[f"{fid}-p{p}-b{i}"])
        ys = sorted({y for _, y in rect})
        if bar["value"] != 0:
            top, base = (ys[0], ys[-1]) if bar["value"] > 0 else (ys[-1], ys[0])
            pairs += [(bar["value"], top), (0.0, base)]
        if bar.get("ci95"):
            [segment] = path_points(svg_groups[f"{fid}-p{p}-e{i}"])
            ys = sorted(y for _, y in segment)
            pairs += [(bar["ci95"][0], ys[-1]), (bar["ci95"][1], ys[0])]
        if bar.get("dots"):
            marks = uses(svg_groups[f"{fid}-p{p}-d{i}"])
            assert len(marks) == len(bar["dots"])
            pairs += [(d["value"], y) for d, (_, y) in zip(bar["dots"], marks, strict=True)]
    return pairs


def line_panel_pairs(svg_groups: dict[str, ET.Element], fid: str, p: int, panel: dict[str, Any]):
    """(log10 x, x pixel) and (value, y pixel) of every point and interval end."""
    xs: list[tuple[float, float]] = []
    ys: list[tuple[float, float]] = []
    for s, series in enumerate(panel["series"]):
        marks = uses(svg_groups[f"{fid}-p{p}-s{s}"])
        assert len(marks) == len(series["points"])
        for point, (px, py) in zip(series["points"], marks, strict=True):
            xs.append((math.log10(point["x"]), px))
            ys.append((point["value"], py))
        with_ci = [pt for pt in series["points"] if pt.get("ci95")]
        if with_ci:
            segments = path_points(svg_groups[f"{fid}-p{p}-se{s}"])
            assert len(segments) == len(with_ci)
            for point, segment in zip(with_ci, segments, strict=True):
                low, high = sorted(y for _, y in segment)[::-1]
                ys += [(point["ci95"][0], low), (point["ci95"][1], high)]
    return xs, ys


def count_marks(svg_groups: dict[str, ET.Element], fid: str, kind: str) -> int:
    pattern = re.compile(rf"^{re.escape(fid)}-p\d+-{kind}\d+$")
    return sum(1 for gid in svg_groups if pattern.match(gid))
