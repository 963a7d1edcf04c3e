"""Text output for the terminal: tables, sparklines, durations."""

from __future__ import annotations

import math
from collections.abc import Sequence

SPARK_CHARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """The curve in at most `width` block characters (resampled by averaging)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return ""
    if len(finite) > width:
        step = len(finite) / width
        finite = [
            sum(chunk) / len(chunk)
            for chunk in (
                finite[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]
                for i in range(width)
            )
        ]
    low, high = min(finite), max(finite)
    if high == low:
        return SPARK_CHARS[0] * len(finite)
    scale = (len(SPARK_CHARS) - 1) / (high - low)
    return "".join(SPARK_CHARS[round((v - low) * scale)] for v in finite)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return score(value)
    return str(value)


def score(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} MB"
