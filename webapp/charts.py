"""Charts drawn on the server as SVG: horizontal bars with their labels and values.

No script and no library in the browser: the page prints, reads without JavaScript and
stays within the Content-Security-Policy. Labels come from users (process and unit names),
so every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW, LABEL_WIDTH, BAR_WIDTH, VALUE_WIDTH = 26, 200, 320, 80
COLOURS = ("#1f5fbf", "#e08a00")


def bar_chart(title: str, rows: Sequence[tuple[str, Sequence[float | None]]],
              series: Sequence[str], value_format: str = "{:g}") -> Markup:
    """Bars for each row's values (one bar per series), scaled to the largest value."""
    values = [v for _, vs in rows for v in vs if v is not None]
    top = max(values, default=0) or 1
    per_row = ROW * max(len(series), 1)
    height = 30 + per_row * len(rows) + (24 if len(series) > 1 else 0)
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>']
    for i, (label, row_values) in enumerate(rows):
        y = 20 + i * per_row
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + per_row / 2 + 4:.0f}" '
                     f'text-anchor="end" font-size="13">{escape(_short(label))}</text>')
        for j, value in enumerate(row_values):
            bar_y = y + j * ROW + 4
            length = 0 if value is None else BAR_WIDTH * value / top
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{length:.1f}" '
                         f'height="{ROW - 8}" fill="{COLOURS[j % len(COLOURS)]}"/>')
            shown = "—" if value is None else value_format.format(value)
            parts.append(f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{bar_y + ROW - 12}" '
                         f'font-size="12">{escape(shown)}</text>')
    if len(series) > 1:
        y = height - 10
        for j, name in enumerate(series):
            x = LABEL_WIDTH + j * 130
            parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
                         f'fill="{COLOURS[j % len(COLOURS)]}"/>'
                         f'<text x="{x + 18}" y="{y}" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"
