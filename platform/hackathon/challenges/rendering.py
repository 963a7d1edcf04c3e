"""Markdown descriptions rendered to sanitized HTML (nh3: no script, no event handlers)."""

from __future__ import annotations

import markdown
import nh3

_TAGS = nh3.ALLOWED_TAGS | {
    "pre",
    "code",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "span",
}


def render_markdown(text: str) -> str:
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(html, tags=_TAGS, link_rel="noopener noreferrer nofollow")
