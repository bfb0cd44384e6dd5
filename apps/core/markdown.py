"""Safe rendering of SOP Markdown to HTML: python-markdown, then the nh3 (Ammonia) sanitiser."""

from __future__ import annotations

import re

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "abbr": {"title"},
}


def _no_remote_images(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: an image from another site is not loaded (fetching it would tell that
    site who read the SOP, and when); relative and ``data:`` images stay."""
    if tag == "img" and attribute == "src" and re.match(r"\s*(https?:)?//", value, re.IGNORECASE):
        return None
    return value


_DROPPED_ELEMENTS = re.compile(
    r"<\s*(script|iframe|style|object|embed|form|input|button|link|meta|svg|math|frame|frameset|base)\b", re.IGNORECASE
)
_UNSAFE_LINK = re.compile(r"""\bhref\s*=\s*["']?\s*(javascript|vbscript|data)\s*:""", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"""<[^>]+\son[a-z]+\s*=""", re.IGNORECASE)
_REMOTE_IMAGE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?\s*(https?:)?//""", re.IGNORECASE)


def sanitiser_removals(text: str) -> list[str]:
    """Return, in words, what ``render_markdown`` leaves out of ``text`` so its author can be told:
    disallowed elements (``<script>``, ``<iframe>`` …), event-handler attributes, ``javascript:``
    links and images from other sites. A notice only — the sanitiser is what makes output safe."""
    html = md.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    found = []
    tags = sorted({m.group(1).lower() for m in _DROPPED_ELEMENTS.finditer(html)})
    if tags:
        found.append("the HTML " + ", ".join(f"<{t}>" for t in tags))
    if _EVENT_HANDLER.search(html):
        found.append("event-handler attributes (on…=)")
    if _UNSAFE_LINK.search(html):
        found.append("links to javascript:, vbscript: or data: addresses")
    if _REMOTE_IMAGE.search(html):
        found.append("images from other sites (not loaded: the request would tell them who reads the SOP)")
    return found


def render_markdown(text: str) -> SafeString:
    """Return ``text`` (Markdown) as sanitised HTML, safe to insert in a page.

    Raw HTML in the source is escaped by the sanitiser unless it is on the allow-list above;
    ``javascript:`` URLs, event handlers, ``<script>``/``<style>``/``<iframe>`` never survive;
    images from other sites lose their ``src`` (``_no_remote_images``). Links get
    ``rel="noopener noreferrer nofollow"``. Uses nh3 (Ammonia) rules.
    """
    html = md.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_no_remote_images,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
