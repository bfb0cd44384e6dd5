"""Layout in a real browser: on a 414 px phone nothing pushes the page sideways (wide tables
scroll in their own box, the header wraps), and in dark mode the diff and the rollout's current
stage keep readable contrast (WCAG 2.1 AA: 4.5:1 for text)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.releases.services import release_publish
from apps.rollouts.selectors import active_rollout
from tests.conftest import sign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# WCAG 2.1 relative luminance and contrast ratio of an element's text colour against the first
# opaque background behind it (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio).
CONTRAST_JS = """(selector) => {
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const element = document.querySelector(selector);
  let node = element, background = null;
  while (node) {
    const value = rgb(getComputedStyle(node).backgroundColor);
    if (value.length < 4 || value[3] > 0) { background = value; break; }
    node = node.parentElement;
  }
  const [a, b] = [lum(rgb(getComputedStyle(element).color)), lum(background || [255, 255, 255])];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def rollout_and_diff(candidate: Any, people: dict[str, Any]) -> dict[str, Any]:
    """A running rollout of ``candidate`` (v2 against the live v1): its page and v2's diff."""
    release_publish(
        actor=people["release"], version=candidate, reason="try", signature=sign(people["release"], "publish")
    )
    rollout = active_rollout(candidate.sop)
    return {
        "rollout": f"/admin/rollouts/rollout/{rollout.pk}/change/",
        "diff": f"/admin/sops/sopversion/{candidate.pk}/diff/",
    }


def test_phone_width__no_page_scrolls_sideways(new_page: Any, rollout_and_diff: dict[str, Any]) -> None:
    page = new_page("admin")
    # on a desktop, the dashboard's column titles stay on one line (they broke letter by letter)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/")
    heights = page.eval_on_selector_all(".sopgov-card th", "cells => cells.map(c => c.getBoundingClientRect().height)")
    assert heights and max(heights) < 40, heights
    page.set_viewport_size({"width": 414, "height": 800})
    for url in [
        "/admin/",
        "/admin/audit/auditevent/",
        "/admin/publishing/publication/",
        "/admin/agents/toolcall/",
        "/admin/sops/sopversion/to-review/",
        rollout_and_diff["rollout"],
        rollout_and_diff["diff"],
    ]:
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 414, url
    # the navigation wraps under the site name instead of being squeezed beside it
    nav = page.locator(".sopgov-nav").bounding_box()
    assert nav is not None and nav["width"] > 300


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_dark_and_light__diff_and_current_stage_readable(
    new_page: Any, rollout_and_diff: dict[str, Any], theme: str
) -> None:
    page = new_page("admin")
    page.emulate_media(color_scheme=theme)
    page.goto(rollout_and_diff["rollout"])
    assert page.evaluate(CONTRAST_JS, ".sopgov-stages li.current") >= 4.5
    page.goto(rollout_and_diff["diff"])
    for cell in (".sopgov-diff-replace .sopgov-l pre", ".sopgov-diff-replace .sopgov-r pre"):
        assert page.evaluate(CONTRAST_JS, cell) >= 4.5, cell
