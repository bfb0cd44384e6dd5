"""The review queue and an author's own versions in a real browser: a reviewer finds a
submission under "To review"; its author withdraws it, and discards a draft."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.sops.models import VersionStatus
from tests.conftest import advance, draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reviewer_queue__author_withdraws_then_discards(new_page: Any, sop: Any, people: dict[str, Any]) -> None:
    submitted = advance(draft(sop, people["author"]), people, "in_review")

    reviewer = new_page("reviewer")
    expect(reviewer.locator("#nav-to-review .sopgov-nav-count")).to_have_text("1")
    reviewer.click("#nav-to-review")
    expect(reviewer.locator("#awaiting-you")).to_contain_text(f"{sop.slug} v{submitted.number}")

    author = new_page("author")
    author.click("#nav-mine")
    expect(author.locator("#mine-in_review")).to_contain_text(f"{sop.slug} v{submitted.number}")
    author.click(f"#mine-in_review >> text={sop.slug} v{submitted.number}")
    author.fill("#text-withdraw", "Found a mistake in step 2")
    author.click("form[data-action=withdraw] button")
    expect(author.locator(".messagelist .success")).to_contain_text("Withdrew")
    expect(author.locator("h1 .sopgov-badge")).to_have_text("Withdrawn")

    reviewer.reload()
    expect(reviewer.locator("#awaiting-you")).to_contain_text("Nothing is waiting for your review.")
    expect(reviewer.locator("#nav-to-review .sopgov-nav-count")).to_have_count(0)

    fresh = draft(sop, people["author"], content="# Refunds\n\nCorrected.")
    author.goto(f"/admin/sops/sopversion/{fresh.pk}/change/")
    expect(author.locator("form[data-action=withdraw] button")).to_have_text("Discard draft")
    author.click("form[data-action=withdraw] button")
    expect(author.locator(".messagelist .success")).to_contain_text("Discarded")
    author.click("#nav-mine")
    expect(author.locator("#mine-withdrawn")).to_contain_text(f"{sop.slug} v{fresh.number}")
    expect(author.locator("#mine-withdrawn")).to_contain_text(f"{sop.slug} v{submitted.number}")
    fresh.refresh_from_db()
    submitted.refresh_from_db()
    assert (fresh.status, submitted.status) == (VersionStatus.WITHDRAWN, VersionStatus.WITHDRAWN)
