"""Error pages for bad requests: a non-numeric id in any id route is a 404 (it used to reach the
database as a bad integer: 500), and a form over the upload limit is a 413 saying nothing was saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

ADMIN_URLS = [
    "/admin/sops/sop/abc/change/",
    "/admin/sops/sop/abc/draft/",
    "/admin/sops/sop/abc/review/",
    "/admin/sops/sop/abc/timeline/",
    "/admin/sops/sop/routing-tests/abc/remove/",
    "/admin/sops/sopversion/abc/change/",
    "/admin/sops/sopversion/abc/edit/",
    "/admin/sops/sopversion/abc/diff/",
    "/admin/sops/sopversion/abc/routing-check/",
    "/admin/sops/sopversion/abc/do/approve/",
    "/admin/rollouts/rollout/abc/change/",
    "/admin/publishing/target/abc/change/",
    "/admin/publishing/target/abc/do/deploy/",
]
API_URLS = [
    "/api/v1/sops/abc/",
    "/api/v1/sops/abc/versions/",
    "/api/v1/versions/abc/",
    "/api/v1/versions/abc/diff/",
    "/api/v1/versions/abc/approve/",
    "/api/v1/rollouts/abc/",
    "/api/v1/rollout-plans/abc/",
    "/api/v1/publications/abc/",
    "/api/v1/deployments/abc/",
    "/api/v1/audit-events/abc/",
]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin__non_numeric_id__404(people: dict[str, Any], url: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(people["admin"])
    assert client.get(url, follow=True).status_code == 404
    assert client.post(url, follow=True).status_code in (404, 405)


@pytest.mark.parametrize("url", API_URLS)
def test_api__non_numeric_id__404(people: dict[str, Any], url: str) -> None:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(people["admin"])
    response = client.get(url)
    assert response.status_code == 404
    # the API's error body, not Django's HTML page (schemathesis found the HTML: undocumented)
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_found"
    assert client.post(url, {}, format="json").status_code in (404, 405)


def test_admin__unknown_url__html_404_page(people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["admin"])
    response = client.get("/admin/sops/sop/abc/change/", follow=True)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/publications/?since=0878-01-30T22:36:59.8%2B22:42", "since"),
        ("/api/v1/tool-calls/?until=2026-01-01T00:00:00-15:00", "until"),
        ("/api/v1/audit-events/?since=2026-01-01T00:00:00%2B23:59", "since"),
    ],
)
def test_api__date_filter_offset_beyond_14h__400_not_500(people: dict[str, Any], url: str, field: str) -> None:
    """PostgreSQL refuses offsets beyond ±15:59 (schemathesis found the 500); ±14:00 is the real range."""
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(people["admin"])
    response = client.get(url)
    assert response.status_code == 400, response.content
    assert "-14:00 and +14:00" in str(response.json()["fields"][field])
    assert (
        client.get(url.replace("22:42", "14:00").replace("15:00", "14:00").replace("23:59", "05:30")).status_code == 200
    )


def test_form_over_the_upload_limit__413_page_saying_nothing_was_saved(people: dict[str, Any], sop: Any) -> None:
    client = Client()
    client.force_login(people["author"])
    body = "x" * 3_000_000
    response = client.post(f"/admin/sops/sop/{sop.pk}/draft/", {"content": body, "summary": "s", "change_note": "c"})
    assert response.status_code == 413
    assert "nothing was saved" in response.content.decode()
    assert not sop.versions.exists()


def test_pages_and_api__content_security_policy_sent(people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["auditor"])
    policy = client.get("/admin/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
