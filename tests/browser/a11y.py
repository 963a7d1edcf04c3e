"""Accessibility checks run inside the page: labels, phone width, keyboard focus."""

from __future__ import annotations

import re

from playwright.sync_api import Page

# The accessible name of an element, the way a screen reader finds it for form controls
# and buttons: aria-labelledby, aria-label, <label>s, then text content, title, placeholder
# is NOT a label (it disappears while typing).
_NAME_OF = """
(el) => {
  const text = (node) => (node ? node.textContent.replace(/\\s+/g, ' ').trim() : '');
  const labelledby = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
  if (labelledby.length) {
    const name = labelledby.map((id) => text(document.getElementById(id))).join(' ').trim();
    if (name) return name;
  }
  const aria = (el.getAttribute('aria-label') || '').trim();
  if (aria) return aria;
  if (el.labels && el.labels.length) {
    const name = Array.from(el.labels).map(text).join(' ').trim();
    if (name) return name;
  }
  const tag = el.tagName.toLowerCase();
  if (tag === 'button' || tag === 'a' || el.getAttribute('role') === 'button') {
    const own = text(el);
    if (own) return own;
    const img = el.querySelector('img[alt], svg[aria-label]');
    if (img) return (img.getAttribute('alt') || img.getAttribute('aria-label') || '').trim();
  }
  if (tag === 'input' && ['submit', 'button', 'reset'].includes((el.type || '').toLowerCase())) {
    return (el.value || '').trim();
  }
  return (el.getAttribute('title') || '').trim();
}
"""

_UNLABELLED = (
    """
() => {
  const nameOf = """
    + _NAME_OF
    + """;
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const found = [];
  const controls = document.querySelectorAll(
    'input, select, textarea, button, a[href], [role=button], [contenteditable=true]'
  );
  for (const el of controls) {
    if ((el.type || '').toLowerCase() === 'hidden') continue;
    if (el.closest('[hidden], [aria-hidden=true]')) continue;
    if (!visible(el) && el.type !== 'file') continue;
    if (!nameOf(el)) found.push(el.outerHTML.slice(0, 160));
  }
  return found;
}
"""
)

_OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // Content inside a scrolling container (a wide table in an overflow:auto wrapper) is fine.
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) { clipped = true; break; }
    }
    if (!clipped && box.right > width + 1) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className}: right edge ${Math.round(box.right)}px`);
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: width,
    wide: wide.slice(0, 8),
  };
}
"""

_FOCUSED_NAME = (
    "() => { const nameOf = " + _NAME_OF + "; const el = document.activeElement;"
    " if (!el || el === document.body) return ''; return nameOf(el); }"
)


def unlabelled_controls(page: Page) -> list[str]:
    """Form controls, buttons and links on the page that have no accessible name."""
    return page.evaluate(_UNLABELLED)


def horizontal_overflow(page: Page) -> str | None:
    """None when the page fits its viewport's width; else what sticks out."""
    result = page.evaluate(_OVERFLOW)
    if result["scrollWidth"] <= result["clientWidth"]:
        return None
    return (
        f"{page.url}: page is {result['scrollWidth']} px wide in a "
        f"{result['clientWidth']} px viewport; {'; '.join(result['wide'])}"
    )


def focused_name(page: Page) -> str:
    """The accessible name of the focused element ('' when nothing has focus)."""
    return page.evaluate(_FOCUSED_NAME)


def tab_to(page: Page, name: str | re.Pattern[str], *, limit: int = 80) -> None:
    """Press Tab (only Tab) until the focused element's accessible name matches `name`."""
    pattern = name if isinstance(name, re.Pattern) else re.compile(re.escape(name), re.I)
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = focused_name(page)
        if pattern.search(current):
            return
        seen.append(current)
    raise AssertionError(
        f"no element named {name if isinstance(name, str) else pattern.pattern!r} is "
        f"reachable with Tab on {page.url}; "
        f"focus went through: {seen}"
    )
