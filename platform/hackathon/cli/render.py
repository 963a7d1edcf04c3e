"""Text output for the terminal: tables, sparklines, durations."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

SPARK_CHARS = "▁▂▃▄▅▆▇█"
# Bidirectional overrides and isolates reorder what follows them on screen (Trojan Source).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def terminal_text(value: object, *, multiline: bool = False) -> str:
    """`value` as text that cannot drive the terminal: C0/C1 controls (ESC, BEL, CR, backspace,
    CSI...), line separators and bidirectional overrides are shown escaped (`\\x1b`), so an attempt
    is visible and inert. With `multiline`, newlines and tabs are kept (logs)."""
    text = str(value)
    if text.isprintable() and not BIDI_CONTROLS.intersection(text):
        return text
    out = []
    for ch in text:
        if multiline and ch in "\n\t":
            out.append(ch)
        elif ch in BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Zl", "Zp"}:
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def terminal_safe(data: Any) -> Any:
    """Decoded JSON from the server with every string made inert (newlines and tabs kept:
    single-line places such as table cells escape them again)."""
    if isinstance(data, str):
        return terminal_text(data, multiline=True)
    if isinstance(data, list):
        return [terminal_safe(item) for item in data]
    if isinstance(data, dict):
        return {terminal_safe(key): terminal_safe(item) for key, item in data.items()}
    return data


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
    return terminal_text(value)


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
