"""The auditor in a real browser: who approved this version, the trail filtered by a shareable
URL, the CSV export, the chain verified, and what agents were served."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import advance, draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_auditor__finds_the_approver_filters_exports_and_verifies(
    new_page: Any, sop: Any, people: dict[str, Any]
) -> None:
    version = advance(draft(sop, people["author"], content="## Steps\n1. Refund within 30 days."), people, "live")
    auditor = new_page("auditor")

    # Who approved this version? The version page shows the e-signatures.
    auditor.goto(f"/admin/sops/sopversion/{version.pk}/change/")
    expect(auditor.locator("#signatures")).to_contain_text("reviewer — Approved —")
    expect(auditor.locator("#signatures")).to_contain_text("release — Released (published to agents) —")

    # The trail, filtered: the filters are the page's address, so it can be shared as a link.
    auditor.click("text=Audit trail")
    auditor.select_option("#id_action", "version.approve")
    auditor.fill("#id_sop", sop.slug)
    auditor.click("#audit-filters button[type=submit]")
    expect(auditor).to_have_url(
        f"{auditor.url.split('?')[0]}?q=&actor=&action=version.approve&sop=billing%2Frefund_policy&category=&since=&until="
    )
    rows = auditor.locator("#events tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("reviewer — approved")
    shared = new_page("auditor")
    shared.goto(auditor.url)
    expect(shared.locator("#events tbody tr")).to_have_count(1)

    # Export what is shown, as CSV
    with auditor.expect_download() as download:
        auditor.click("#export-csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["action"], r["actor_label"]) for r in exported] == [("version.approve", "reviewer")]
    signature = json.loads(exported[0]["data"])["signature"]
    assert (signature["meaning"], signature["content_sha256"]) == ("approved", version.content_sha256)

    # Verify the chain
    auditor.click("#verify-chain")
    expect(auditor.locator("#verdict")).to_contain_text("Every link holds")

    # What were agents served?
    auditor.click("text=What agents saw")
    auditor.fill("#id_sop", sop.slug)
    auditor.click("#agents-saw-form button[type=submit]")
    expect(auditor.locator("#served")).to_contain_text(f"v{version.number}")
    expect(auditor.locator("#served")).to_contain_text(version.content_sha256[:16])
