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
    """Sanitized HTML; headings start at <h2>, the page's own title being the one <h1>."""
    html = markdown.markdown(
        text or "",
        extensions=["fenced_code", "tables", "sane_lists", "toc"],
        extension_configs={"toc": {"baselevel": 2}},
    )
    return nh3.clean(html, tags=_TAGS, link_rel="noopener noreferrer nofollow")
