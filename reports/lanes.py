"""Lane charts: the method and rollbacks on one time axis, and circuit states over time.

Both are inline SVG like ``reports.charts``: a lane per activity or circuit, a
rect per activity or stretch in a state (each with a ``<title>``), fault windows
shaded, every text escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import escape

from reports.charts import (
    BOTTOM,
    DASH,
    FONT,
    RIGHT,
    TABLE_ROWS,
    TOP,
    Chart,
    Table,
    W,
    clock,
    coord,
    frame,
    scale,
    shade_windows,
    svg_markup,
    time_ticks,
    x_axis,
)
from reports.timeline import Window

GANTT_LABEL, LANE, LABEL_CHARS = 200, 18, 24
STATE_CLASS = {"closed": "st-closed", "half_open": "st-half", "open": "st-open"}


@dataclass(frozen=True)
class Bar:
    lane: str
    start: float
    end: float
    css: str  # one of this module's classes: bar-method, bar-rollback, bar-probe, bar-failed
    tip: str


def state_strip(
    key: str,
    title: str,
    lanes: dict[str, list[tuple[float, str]]],
    x_range: tuple[float, float],
    windows: Sequence[Window] = (),
) -> Chart | None:
    """One lane per circuit, a rect per stretch in one state (closed, half open, open)."""
    if not any(lanes.values()):
        return None
    x0, x1 = x_range[0], max(x_range[1], x_range[0] + 1e-6)
    height = TOP + len(lanes) * (LANE + 8) + BOTTOM
    sx = scale(x0, x1, GANTT_LABEL, W - RIGHT)
    seen: set[str] = set()
    desc_bits = []
    body: list[str] = []
    rows: list[list[str]] = []
    for n, (name, changes) in enumerate(lanes.items()):
        y = TOP + n * (LANE + 8)
        body.append(_lane_label(name, y))
        stretches = _stretches(_per_pixel(changes, x0, x1), x1)
        if stretches:  # closed underneath; only the other states are drawn over it
            x = sx(stretches[0][0])
            body.append(
                f'<rect class="st-closed" x="{coord(x)}" y="{y}" '
                f'width="{coord(max(1.5, W - RIGHT - x))}" height="{LANE}">'
                f"<title>{escape(name)}: closed unless marked</title></rect>"
            )
            seen.add("closed")
        for start, end, state in stretches:
            if state == "closed":
                continue
            seen.add(state)
            css = STATE_CLASS.get(state, "st-unknown")
            words = state.replace("_", " ")
            tip = f"{name}: {words} {clock(start - x0)}{DASH}{clock(end - x0)}"
            x, w = sx(start), max(1.5, sx(end) - sx(start))
            body.append(
                f'<rect class="{css}" x="{coord(x)}" y="{y}" width="{coord(w)}" '
                f'height="{LANE}"><title>{escape(tip)}</title></rect>'
            )
            if w > len(words) * FONT * 0.62 + 6:
                body.append(
                    f'<text class="on-bar" x="{coord(x + 3)}" y="{y + 13}">{escape(words)}</text>'
                )
            rows.append([name, words, clock(start - x0), clock(end - x0)])
        bad = [s for s in stretches if s[2] != "closed"]
        desc_bits.append(f"{name}: {len(bad)} stretch(es) not closed" if bad else f"{name}: closed")
    desc = f"{title}: " + "; ".join(desc_bits)
    parts = [frame(key, title, desc, height=height)]
    parts += shade_windows(windows, sx, height=height - BOTTOM)
    parts += body
    parts += x_axis(time_ticks(x0, x1), sx, lambda x: clock(x - x0), base=height - BOTTOM)
    parts.append("</svg>")
    legend = [(STATE_CLASS[s], s.replace("_", " ")) for s in STATE_CLASS if s in seen]
    table = Table(
        f"{title}: every stretch not closed",
        ["circuit", "state", "from", "to"],
        rows[:TABLE_ROWS] or [[DASH, "closed throughout", "", ""]],
    )
    return Chart(key, title, desc, svg_markup(parts), legend, table)


def gantt(
    key: str,
    title: str,
    bars: Sequence[Bar],
    x_range: tuple[float, float],
    windows: Sequence[Window] = (),
    marks: Sequence[tuple[float, str]] = (),
) -> Chart | None:
    """The method and rollbacks on one time axis: a lane per activity, marks on top."""
    if not bars:
        return None
    x0, x1 = x_range[0], max(x_range[1], x_range[0] + 1e-6)
    lanes = list(dict.fromkeys(b.lane for b in bars))
    top = TOP + (LANE if marks else 0)
    height = top + len(lanes) * LANE + BOTTOM
    sx = scale(x0, x1, GANTT_LABEL, W - RIGHT)
    desc = f"{title}: {len(bars)} activities from {clock(0)} to {clock(x1 - x0)}"
    failed = [b.lane for b in bars if b.css == "bar-failed"]
    desc += f"; failed: {', '.join(failed)}" if failed else "; none failed"
    parts = [frame(key, title, desc, height=height)]
    # the fault's name at the bottom of its window: the markers lane is at the top
    parts += shade_windows(windows, sx, height=height - BOTTOM, label_y=height - BOTTOM - 4)
    for t, what in marks:
        x = sx(t)
        parts.append(
            f'<g class="mark"><line x1="{coord(x)}" x2="{coord(x)}" y1="{TOP}" '
            f'y2="{height - BOTTOM}"/><circle cx="{coord(x)}" cy="{TOP + 6}" r="3.5">'
            f"<title>{escape(f'{clock(t - x0)} {what}')}</title></circle></g>"
        )
    if marks:
        parts.append(_lane_label("markers", TOP - 2))
    for n, lane in enumerate(lanes):
        parts.append(_lane_label(lane, top + n * LANE))
    for bar in bars:
        y = top + lanes.index(bar.lane) * LANE + 3
        x, w = sx(bar.start), max(2.0, sx(bar.end) - sx(bar.start))
        parts.append(
            f'<rect class="{bar.css}" x="{coord(x)}" y="{y}" width="{coord(w)}" '
            f'height="{LANE - 6}"><title>{escape(bar.tip)}</title></rect>'
        )
    parts += x_axis(time_ticks(x0, x1), sx, lambda x: clock(x - x0), base=height - BOTTOM)
    parts.append("</svg>")
    rows = [[b.lane, clock(b.start - x0), clock(b.end - x0), b.tip] for b in bars[: TABLE_ROWS * 2]]
    rows += [[what, clock(t - x0), "", "marker"] for t, what in marks[:TABLE_ROWS]]
    legend = [
        ("bar-probe", "probe"),
        ("bar-method", "action"),
        ("bar-rollback", "rollback"),
        ("bar-failed", "failed ✗"),
    ]
    legend += [("fault", "fault window")] if windows else []
    return Chart(
        key,
        title,
        desc,
        svg_markup(parts),
        legend,
        Table(f"{title}: activities and markers", ["what", "start", "end", "detail"], rows),
    )


def _lane_label(name: str, y: float) -> str:
    short = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
    return (
        f'<text class="lane" x="{GANTT_LABEL - 6}" y="{coord(y + 13)}" text-anchor="end">'
        f"{escape(short)}<title>{escape(name)}</title></text>"
    )


def _per_pixel(changes: list[tuple[float, str]], x0: float, x1: float) -> list[tuple[float, str]]:
    """The worst state in each pixel of the lane: a flapping circuit stays visible and small."""
    width = (x1 - x0) / (W - RIGHT - GANTT_LABEL) or 1.0
    worst: dict[int, tuple[float, str]] = {}
    rank = {"closed": 0, "unknown": 1, "half_open": 2, "open": 3}
    for t, state in changes:
        bucket = int((t - x0) / width)
        seen = worst.get(bucket)
        if seen is None or rank.get(state, 1) > rank.get(seen[1], 1):
            worst[bucket] = (seen[0] if seen else t, state)
    return [worst[b] for b in sorted(worst)]


def _stretches(changes: list[tuple[float, str]], end: float) -> list[tuple[float, float, str]]:
    found: list[tuple[float, float, str]] = []
    for n, (t, state) in enumerate(changes):
        until = changes[n + 1][0] if n + 1 < len(changes) else end
        if found and found[-1][2] == state:
            found[-1] = (found[-1][0], until, state)
        else:
            found.append((t, until, state))
    return found
