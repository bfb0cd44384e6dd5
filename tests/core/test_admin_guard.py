"""Every admin page checks the role first: a staff account with no role reads nothing (the SOP
timeline, the review list and version diffs used to skip the check)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import advance, draft
from tests.factories import UserFactory

PAGES = [
    "/admin/sops/sop/{sop}/change/",
    "/admin/sops/sop/{sop}/timeline/",
    "/admin/sops/sop/{sop}/draft/",
    "/admin/sops/sop/reviews/",
    "/admin/sops/sop/routing/?q=refund",
    "/admin/sops/sopversion/{version}/change/",
    "/admin/sops/sopversion/{version}/diff/",
    "/admin/sops/sopversion/{version}/edit/",
    "/admin/sops/sopversion/{version}/routing-check/",
    "/admin/audit/auditevent/export.csv",
]


@pytest.fixture
def urls(sop: Any, people: dict[str, Any]) -> list[str]:
    version = advance(draft(sop, people["author"]), people, "live")
    return [page.format(sop=sop.pk, version=version.pk) for page in PAGES]


def test_staff_without_a_role__every_page_403(urls: list[str]) -> None:
    client = Client()
    client.force_login(UserFactory(username="staffonly", is_staff=True))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"Verify the customer" not in response.content


def test_auditor__reading_pages_open(urls: list[str], people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["auditor"])
    readable = [u for u in urls if not u.endswith(("/draft/", "/edit/"))]
    assert {u: client.get(u).status_code for u in readable} == dict.fromkeys(readable, 200)
