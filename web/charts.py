"""Small bar charts drawn as inline SVG on the server: no script, nothing fetched by the browser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

_WIDTH, _HEIGHT, _PAD = 640, 160, 24


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    label: str  # shown under the bar and in its tooltip (e.g. a day)
    value: float


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str = "") -> Markup:
    """A titled bar chart; an empty series says so instead of drawing nothing."""
    if not bars or max(b.value for b in bars) <= 0:
        return Markup(f'<p class="empty">{escape(title)}: nothing yet.</p>')
    top = max(b.value for b in bars)
    step = (_WIDTH - 2 * _PAD) / len(bars)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {_HEIGHT + 30}" width="{_WIDTH}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, bar in enumerate(bars):
        height = (_HEIGHT - _PAD) * bar.value / top
        x = _PAD + index * step
        y = _HEIGHT - height
        tip = f"{bar.label}: {bar.value:g} {unit}".strip()
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if index in (0, len(bars) - 1) or len(bars) <= 10:
            parts.append(f'<text x="{x:.1f}" y="{_HEIGHT + 14}">{escape(bar.label[-5:])}</text>')
    parts.append(f'<text x="{_PAD}" y="14">max {top:g} {escape(unit)}</text></svg>')
    return Markup("".join(parts))
