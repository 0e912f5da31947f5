"""Drawing the report's figures (:mod:`msmkit.report.figures`) as inline SVG with matplotlib.

No pyplot and no display: a bare ``matplotlib.figure.Figure`` saved as SVG (the Agg-free
path, safe in a notebook or a headless job). Text stays text (``svg.fonttype: none``), ids
are prefixed with the figure's id so several SVGs share one page, and every mark carries a
``gid`` naming what it draws: ``<fig>-p<panel>-b<bar>`` (bar), ``-e<bar>`` (its interval),
``-d<bar>`` (its per-seed dots), ``-s<series>`` (a line's points) and ``-se<series>`` (their
intervals). Tests read the marks back from the SVG and check them against the data.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from msmkit.report.figures import ONE

PANEL_W, PANEL_H = 3.4, 2.7  # inches
COLS = 3


def _mpl() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        from msmkit.errors import PrerequisiteError

        raise PrerequisiteError(
            "drawing a report needs matplotlib",
            hint="pip install 'msmkit[report]' (or pip install matplotlib); or pass --no-report",
        ) from exc
    return matplotlib


def _grid(n: int, wide: bool = False) -> tuple[int, int]:
    cols = min(2 if wide else COLS, n)
    return math.ceil(n / cols), cols


def _wrap(text: str, width: int = 28) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


def _yerr(value: float, ci: list[float] | None) -> tuple[list[float], list[float]] | None:
    """Error-bar lengths below and above ``value`` (an interval that ends at the value, as a
    Wilson interval at 0 or 1 may, up to rounding, draws no bar on that side)."""
    if not ci:
        return None
    return [max(0.0, value - ci[0])], [max(0.0, ci[1] - value)]


def _grouped_panel(ax: Any, fid: str, p: int, panel: dict[str, Any], hue_color: dict) -> None:
    bars = panel["bars"]
    categories = list(dict.fromkeys(b["category"] for b in bars))
    hues = list(dict.fromkeys(b["hue"] for b in bars))
    width = 0.8 / len(hues)
    by_category = len(hues) == 1 and hues[0] == ONE
    palette = _colors(len(categories))
    for i, bar in enumerate(bars):
        c, h = categories.index(bar["category"]), hues.index(bar["hue"])
        x = c + (h - (len(hues) - 1) / 2) * width
        color = palette[c] if by_category else hue_color[bar["hue"]]
        [rect] = ax.bar([x], [bar["value"]], width=width * 0.92, color=color, alpha=0.85)
        rect.set_gid(f"{fid}-p{p}-b{i}")
        err = _yerr(bar["value"], bar.get("ci95"))
        if err is not None:
            cont = ax.errorbar(
                [x], [bar["value"]], yerr=err, fmt="none", ecolor="#222", elinewidth=1.1, capsize=3
            )
            cont.lines[2][0].set_gid(f"{fid}-p{p}-e{i}")
        dots = bar.get("dots") or []
        if dots:
            k = len(dots)
            spread = width * 0.5
            xs = [x + (j - (k - 1) / 2) * (spread / max(k - 1, 1)) for j in range(k)]
            coll = ax.scatter(
                xs,
                [d["value"] for d in dots],
                s=14,
                color="white",
                edgecolors="#111",
                linewidths=0.8,
                zorder=3,
            )
            coll.set_gid(f"{fid}-p{p}-d{i}")
    ax.axhline(0, color="#888", linewidth=0.6)
    ax.set_xticks(range(len(categories)))
    rotate = max(len(str(c)) for c in categories) * len(categories) > 40
    ax.set_xticklabels(
        [_wrap(c, 18) for c in categories],
        rotation=30 if rotate else 0,
        ha="right" if rotate else "center",
        fontsize=7,
    )
    ax.set_xlim(-0.6, len(categories) - 0.4)
    if panel.get("ylim"):
        ax.set_ylim(*panel["ylim"])
    ax.set_title(_wrap(panel["title"], 40), fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)


def _lines_panel(ax: Any, fid: str, p: int, panel: dict[str, Any], line_color: dict) -> None:
    for s, series in enumerate(panel["series"]):
        points = series["points"]
        xs = [pt["x"] for pt in points]
        ys = [pt["value"] for pt in points]
        color = line_color[series["line"]]
        (line,) = ax.plot(xs, ys, marker="o", markersize=4, color=color, label=series["line"])
        line.set_gid(f"{fid}-p{p}-s{s}")
        with_ci = [pt for pt in points if pt.get("ci95")]
        if with_ci:
            cont = ax.errorbar(
                [pt["x"] for pt in with_ci],
                [pt["value"] for pt in with_ci],
                yerr=[
                    [max(0.0, pt["value"] - pt["ci95"][0]) for pt in with_ci],
                    [max(0.0, pt["ci95"][1] - pt["value"]) for pt in with_ci],
                ],
                fmt="none",
                ecolor=color,
                elinewidth=1,
                capsize=3,
            )
            cont.lines[2][0].set_gid(f"{fid}-p{p}-se{s}")
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.set_xscale("log")
    sizes = sorted({pt["x"] for series in panel["series"] for pt in series["points"]})
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(sizes, [_short(x) for x in sizes])
    if len(sizes) > 1:
        ax.set_xlim(sizes[0] / 1.4, sizes[-1] * 1.4)
    ax.set_title(_wrap(panel["title"], 40), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _short(x: float) -> str:
    """12000 -> 12k, 1500000 -> 1.5M."""
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def draw(figure: dict[str, Any]) -> str:
    """The figure as an SVG string, ready to inline in HTML."""
    matplotlib = _mpl()
    from matplotlib.figure import Figure

    fid = figure["id"]
    panels = figure["panels"]
    rows, cols = _grid(len(panels), figure.get("wide", False))
    scale = 1.35 if figure.get("wide") and cols <= 2 else 1.0
    fig = Figure(figsize=(PANEL_W * cols * scale, PANEL_H * rows * scale + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    if figure["kind"] == "grouped":
        hues = list(dict.fromkeys(b["hue"] for p in panels for b in p["bars"]))
        colors = dict(zip(hues, _colors(len(hues)), strict=True))
        for p, panel in enumerate(panels):
            _grouped_panel(axes[p // cols][p % cols], fid, p, panel, colors)
        legend = [h for h in hues if h != ONE]
    else:
        lines = list(dict.fromkeys(s["line"] for p in panels for s in p["series"]))
        colors = dict(zip(lines, _colors(len(lines)), strict=True))
        for p, panel in enumerate(panels):
            ax = axes[p // cols][p % cols]
            _lines_panel(ax, fid, p, panel, colors)
            ax.set_xlabel(figure.get("xlabel", ""), fontsize=7)
        legend = lines
    for extra in range(len(panels), rows * cols):
        axes[extra // cols][extra % cols].set_visible(False)
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=colors[h], label=_wrap(h, 40)) for h in legend]
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=min(len(handles), 3),
            fontsize=7,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
    fig.tight_layout(rect=(0, 0.06 * (1 + (len(legend) - 1) // 3) if legend else 0, 1, 1))
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": fid}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.1)
    return inline_svg(buf.getvalue(), fid)


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG document as an element for an HTML page: no XML prolog, doctype or metadata,
    every id (and reference to one) prefixed, so figures on one page never share an id.
    ``gid``s that already carry the prefix keep it once."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)

    def ident(name: str) -> str:
        return name if name.startswith(f"{prefix}-") else f"{prefix}-{name}"

    svg = _ID.sub(lambda m: f'id="{ident(m.group(1))}"', svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}{ident(m.group(2))}", svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="figure {prefix}" ', 1)
