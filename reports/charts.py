"""Inline SVG charts drawn in Python: no JavaScript, no fonts or images to fetch.

Each chart is one ``<svg role="img">`` with a ``<title>`` and ``<desc>``, one
polyline per series (split only where the data has a gap), a translucent rect
per fault window, a dashed line per objective threshold, and its numbers in a
table for the page to put behind a ``<details>``. Every text embedded here is
escaped before the SVG is marked safe; class names come from this module only.
Series are first reduced to the plot's pixel width, keeping each pixel's min and
max so a one-sample spike survives (``downsample``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from reports.timeline import Points, Window

W, H = 640, 210
LEFT, RIGHT, TOP, BOTTOM = 50, 14, 10, 26
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM
FONT = 12
TABLE_ROWS = 40
DASH = "\u2013"  # an en dash: "no value", and ranges ("12-20" reads as a subtraction)
STYLES = tuple(f"s{n}" for n in range(6))


@dataclass(frozen=True)
class Series:
    name: str
    points: Points
    total: bool = False  # drawn wide and pale underneath: the sum of the other series
    css: str = ""  # a fixed style (s0-s5) so a meaning keeps its colour: 5xx always red


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Chart:
    key: str
    title: str
    desc: str
    svg: Markup
    legend: list[tuple[str, str]]  # (css class, name)
    table: Table
    unit: str = ""


def fmt(value: float | None, unit: str = "") -> str:
    """A number as a reader wants it: three significant figures at most, thousands separated."""
    if value is None:
        return DASH
    size = abs(value)
    if size >= 1000:
        shown = f"{value:,.0f}"
    elif size >= 100 or value == int(value):
        shown = f"{value:.0f}"
    else:
        shown = f"{value:.{1 if size >= 10 else 2 if size >= 0.1 else 3}f}".rstrip("0").rstrip(".")
    return f"{shown} {unit}".rstrip() if unit else shown


def clock(seconds: float) -> str:
    """Seconds since the start: "45 s", or "12:05" past two minutes."""
    if abs(seconds) < 120:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def downsample(
    points: Sequence[tuple[float, float | None]], x0: float, x1: float, buckets: int
) -> Points:
    """At most two points per bucket (its min and max, in time order); gaps (None) kept."""
    if len(points) <= buckets:
        return list(points)
    scale = buckets / ((x1 - x0) or 1.0)
    last = buckets - 1
    out: Points = []
    current: int | None = None
    low: tuple[float, float] | None = None
    high: tuple[float, float] | None = None

    def flush() -> None:
        if low is None or high is None:
            return
        pair = sorted({low, high})
        out.extend(pair)

    for t, v in points:
        if v is None:
            flush()
            low = high = None
            current = None
            out.append((t, None))
            continue
        bucket = int((t - x0) * scale)
        bucket = last if bucket > last else max(bucket, 0)
        if bucket != current:
            flush()
            current, low, high = bucket, (t, v), (t, v)
            continue
        assert low is not None and high is not None
        if v < low[1]:
            low = (t, v)
        if v > high[1]:
            high = (t, v)
    flush()
    return out


def line_chart(
    key: str,
    title: str,
    series: Sequence[Series],
    x_range: tuple[float, float],
    *,
    unit: str,
    windows: Sequence[Window] = (),
    thresholds: Sequence[Threshold] = (),
    x_label: Callable[[float], str] | None = None,
    x_ticks: Sequence[float] | None = None,
    about: str = "",
) -> Chart | None:
    """A line chart, or None when no series holds a value (the page says so instead)."""
    x0, x1 = x_range[0], max(x_range[1], x_range[0] + 1e-6)
    values = [v for s in series for _, v in s.points if v is not None]
    if not values:
        return None
    label = x_label or (lambda x: clock(x - x0))
    ticks = _value_ticks(
        min(0.0, *values),
        max([*values, *(t.value * 1.1 for t in thresholds)]),
        integer=all(v == int(v) for v in values),
    )
    sx = scale(x0, x1, LEFT, LEFT + PLOT_W)
    sy = scale(ticks[0], ticks[-1], TOP + PLOT_H, TOP)
    desc = _describe(title, series, unit, windows, thresholds, about)
    parts = [frame(key, title, desc)]
    parts += shade_windows(windows, sx)
    parts += _y_axis(ticks, sy)
    parts += x_axis(x_ticks if x_ticks is not None else time_ticks(x0, x1), sx, label)
    classes = _classes(series)
    for css, s in zip(classes, series, strict=True):
        reduced = downsample(s.points, x0, x1, PLOT_W)
        parts.append(f'<g class="series {css}">{_polylines(reduced, sx, sy)}</g>')
    parts += _thresholds(thresholds, sy)
    parts.append("</svg>")
    legend = [(css, s.name) for css, s in zip(classes, series, strict=True)]
    legend += [("threshold", f"objective: {t.label}") for t in thresholds]
    legend += [("fault", "fault window")] if windows else []
    table = _series_table(title, series, x0, x1, unit, label)
    return Chart(key, title, desc, svg_markup(parts), legend, table, unit)


def _classes(series: Sequence[Series]) -> list[str]:
    """s0, s1, ... for the series in order; a total is drawn as "total" and takes no colour."""
    found, n = [], 0
    for s in series:
        if s.total:
            found.append("total")
        elif s.css in STYLES:
            found.append(s.css)
        else:
            found.append(f"s{n}")
            n += 1
    return found


# -- drawing helpers ----------------------------------------------------------------


def svg_markup(parts: list[str]) -> Markup:
    """The drawn chart as markup: every text in ``parts`` went through ``escape`` here."""
    return Markup("".join(parts))  # noqa: S704 (built only by this module, texts escaped)


def coord(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def frame(key: str, title: str, desc: str, height: int = H) -> str:
    safe = escape(key)
    return (
        f'<svg class="chart" role="img" aria-labelledby="{safe}-t {safe}-d" '
        f'viewBox="0 0 {W} {height}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{safe}-t">{escape(title)}</title>'
        f'<desc id="{safe}-d">{escape(desc)}</desc>'
    )


def _describe(
    title: str,
    series: Sequence[Series],
    unit: str,
    windows: Sequence[Window],
    thresholds: Sequence[Threshold],
    about: str,
) -> str:
    bits = []
    for s in series:
        values = [v for _, v in s.points if v is not None]
        if values:
            bits.append(f"{s.name} from {fmt(min(values))} to {fmt(max(values))} {unit}".rstrip())
    text = f"{title}. " + "; ".join(bits) + "."
    if windows:
        text += " Fault windows shaded: " + ", ".join(w.label for w in windows) + "."
    if thresholds:
        text += " Dashed: " + ", ".join(t.label for t in thresholds) + "."
    return f"{text} {about}".strip()


def _value_ticks(low: float, high: float, *, integer: bool) -> list[float]:
    """Four or five round ticks covering low..high (whole numbers for counts)."""
    high = max(high, low + (1.0 if integer else 1e-9))
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if integer:
        step = float(max(1, math.ceil(step)))
    bottom = math.floor(low / step) * step
    count = math.ceil((high - bottom) / step - 1e-9)
    return [bottom + step * n for n in range(count + 1)]


def _y_axis(ticks: Sequence[float], sy: Callable[[float], float]) -> list[str]:
    parts = []
    for v in ticks:
        y = sy(v)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{coord(y)}" y2="{coord(y)}"/>'
            f'<text class="tick" x="{LEFT - 5}" y="{coord(y + 4)}" text-anchor="end">'
            f"{escape(fmt(v))}</text>"
        )
    return parts


def time_ticks(x0: float, x1: float) -> list[float]:
    span = x1 - x0
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if span / step <= 7:
            return [x0 + step * n for n in range(int(span / step) + 1)]
    return [x0, x1]


def x_axis(
    ticks: Sequence[float],
    sx: Callable[[float], float],
    label: Callable[[float], str],
    base: float = TOP + PLOT_H,
) -> list[str]:
    parts = []
    for t in ticks:
        x = sx(t)
        # the first label starts at its tick, clear of the y axis's "0"; the last ends at it
        anchor = "start" if x < LEFT + 12 else "end" if x > W - RIGHT - 12 else "middle"
        parts.append(
            f'<line class="axis" x1="{coord(x)}" x2="{coord(x)}" y1="{coord(base)}" '
            f'y2="{coord(base + 4)}"/><text class="tick" x="{coord(x)}" y="{coord(base + 16)}" '
            f'text-anchor="{anchor}">{escape(label(t))}</text>'
        )
    return parts


def shade_windows(
    windows: Sequence[Window],
    sx: Callable[[float], float],
    height: float = TOP + PLOT_H,
    label_y: float = TOP + 11,
) -> list[str]:
    parts = []
    for w in windows:
        x, width = sx(w.start), max(2.0, sx(w.end) - sx(w.start))
        parts.append(
            f'<rect class="fault" x="{coord(x)}" y="{TOP}" width="{coord(width)}" '
            f'height="{coord(height - TOP)}"><title>{escape("fault: " + w.label)}</title>'
            "</rect>"
        )
        text = w.label if len(w.label) * 6.6 < width - 4 else ""
        if text:
            parts.append(
                f'<text class="fault-label" x="{coord(x + 3)}" y="{coord(label_y)}">'
                f"{escape(text)}</text>"
            )
    return parts


def _thresholds(thresholds: Sequence[Threshold], sy: Callable[[float], float]) -> list[str]:
    parts: list[str] = []
    used: list[float] = []
    for t in sorted(thresholds, key=lambda t: t.value):
        y = sy(t.value)
        label_y = y - 3
        if any(abs(label_y - u) < FONT for u in used):
            label_y = y + FONT
        used.append(label_y)
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{W - RIGHT}" y1="{coord(y)}" '
            f'y2="{coord(y)}"/><text class="threshold-label" x="{W - RIGHT - 2}" '
            f'y="{coord(label_y)}" text-anchor="end">{escape(t.label)}</text>'
        )
    return parts


def _polylines(points: Points, sx: Callable[[float], float], sy: Callable[[float], float]) -> str:
    segments: list[list[tuple[float, float]]] = [[]]
    for t, v in points:
        if v is None:
            segments.append([])
        else:
            # whole pixels across (one bucket each), tenths up: small files, smooth lines
            segments[-1].append((round(sx(t)), round(sy(v), 1)))
    out = []
    for segment in segments:
        # a run of equal values draws the same with only its two ends
        kept = [
            p
            for n, p in enumerate(segment)
            if n in (0, len(segment) - 1) or not (segment[n - 1][1] == p[1] == segment[n + 1][1])
        ]
        if len(kept) == 1:  # a lone sample between gaps: a short tick, still visible
            kept.append((kept[0][0] + 1.5, kept[0][1]))
        if kept:
            out.append('<polyline points="' + " ".join(f"{x:g},{y:g}" for x, y in kept) + '"/>')
    return "".join(out)


def _series_table(
    title: str,
    series: Sequence[Series],
    x0: float,
    x1: float,
    unit: str,
    label: Callable[[float], str],
) -> Table:
    """The chart's numbers: one row per slice of time, each series' lowest and highest in it."""
    samples = max((len(s.points) for s in series), default=0)
    slices = max(1, min(TABLE_ROWS, samples))
    width = (x1 - x0) / slices or 1.0
    lows = [[math.inf] * len(series) for _ in range(slices)]
    highs = [[-math.inf] * len(series) for _ in range(slices)]
    for n, s in enumerate(series):
        for t, v in s.points:
            if v is None:
                continue
            k = int((t - x0) / width)
            k = slices - 1 if k >= slices else max(k, 0)
            lows[k][n] = min(lows[k][n], v)
            highs[k][n] = max(highs[k][n], v)
    rows = []
    for k in range(slices):
        if all(low == math.inf for low in lows[k]):
            continue
        shown = [label(x0 + k * width)]
        for low, high in zip(lows[k], highs[k], strict=True):
            if low == math.inf:
                shown.append(DASH)
            else:
                shown.append(fmt(low) if low == high else f"{fmt(low)}{DASH}{fmt(high)}")
        rows.append(shown)
    per = "one row per sample" if slices == samples else f"one row per {fmt(width)} s, min{DASH}max"
    return Table(f"{title} ({unit}; {per})", ["time", *(s.name for s in series)], rows)
