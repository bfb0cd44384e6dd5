"""The REST API: authentication, every transition, and 400/403/409 answers with clear bodies."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.sops.models import SOP, SOPVersion
from tests.conftest import CONTENT, advance, draft


def client_for(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(people: dict[str, Any]) -> dict[str, APIClient]:
    return {name: client_for(user) for name, user in people.items()}


def test_token__valid_password__returns_token(people: dict[str, Any]) -> None:
    response = APIClient().post("/api/v1/auth/token/", {"username": "author", "password": "pw"}, format="json")
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=people["author"]).key


def test_token__wrong_password__400_with_message(people: dict[str, Any]) -> None:
    response = APIClient().post("/api/v1/auth/token/", {"username": "author", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"


def test_api__no_credentials__401(db: Any) -> None:
    response = APIClient().get("/api/v1/sops/")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_api__role_less_user__403(api: dict[str, APIClient]) -> None:
    response = api["nobody"].get("/api/v1/sops/")
    assert response.status_code == 403


def test_full_lifecycle__through_the_api(api: dict[str, APIClient], people: dict[str, Any], db: Any) -> None:
    from tests.factories import CategoryFactory

    CategoryFactory(slug="billing", min_approvals=2)
    # author creates an SOP and a draft, then submits it
    created = api["author"].post(
        "/api/v1/sops/", {"category": "billing", "key": "refund_policy", "title": "Refunds"}, format="json"
    )
    assert created.status_code == 201, created.json()
    sop_id = created.json()["id"]
    assert created.json()["slug"] == "billing/refund_policy"
    version = api["author"].post(
        f"/api/v1/sops/{sop_id}/versions/",
        {
            "content": CONTENT,
            "summary": "Use for refunds.",
            "example_questions": ["Refund?"],
            "change_note": "New",
        },
        format="json",
    )
    assert version.status_code == 201, version.json()
    vid = version.json()["id"]
    assert version.json()["allowed_actions"] == ["edit", "submit", "withdraw"]
    assert api["author"].post(f"/api/v1/versions/{vid}/submit/").json()["status"] == "in_review"
    # two reviewers approve (billing needs two)
    first = (
        api["reviewer"]
        .post(f"/api/v1/versions/{vid}/approve/", {"comment": "ok", "password": "pw"}, format="json")
        .json()
    )
    assert (first["status"], first["approvals"], first["approvals_required"]) == ("in_review", 1, 2)
    second = (
        api["reviewer2"]
        .post(f"/api/v1/versions/{vid}/approve/", {"password": "pw", "meaning": "reviewed"}, format="json")
        .json()
    )
    assert second["status"] == "approved"
    # release publishes
    published = api["release"].post(
        f"/api/v1/versions/{vid}/publish/", {"reason": "ready", "password": "pw"}, format="json"
    )
    assert published.status_code == 200
    assert published.json()["status"] == "live"
    assert published.json()["published_by"] == "release"
    signatures = [(sig["signer_name"], sig["meaning"], sig["action"]) for sig in published.json()["signatures"]]
    assert signatures == [
        ("reviewer", "approved", "approve"),
        ("reviewer2", "reviewed", "approve"),
        ("release", "released", "publish"),
    ]
    # the SOP list shows it live, filterable
    listed = api["auditor"].get("/api/v1/sops/?category=billing&status=live").json()
    assert [s["live_version"] for s in listed["results"]] == [1]
    # the audit trail has every step, filterable by SOP
    trail = api["auditor"].get("/api/v1/audit-events/?sop=billing/refund_policy").json()
    actions = [e["action"] for e in trail["results"]]
    for expected in (
        "sop.create",
        "version.create",
        "version.submit",
        "version.approve",
        "version.go_live",
        "bundle.publish",
    ):
        assert expected in actions
    assert all(len(e["request_id"]) >= 16 for e in trail["results"] if e["action"] != "bundle.publish")


def test_self_approval__api__403_with_code(api: dict[str, APIClient], sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author_reviewer"]), people, "in_review")
    response = api["author_reviewer"].post(f"/api/v1/versions/{version.pk}/approve/", {"password": "pw"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "self_approval_forbidden"
    assert "own version" in response.json()["detail"]


@pytest.mark.parametrize(
    ("role", "action", "state", "status", "code"),
    [
        ("reviewer", "publish", "approved", 403, "permission_denied"),
        ("author", "approve", "in_review", 403, "permission_denied"),
        ("auditor", "retire", "live", 403, "permission_denied"),
        ("release", "publish", "in_review", 409, "invalid_transition"),
        ("reviewer", "approve", "draft", 409, "invalid_transition"),
        ("release", "rollback", "approved", 409, "invalid_transition"),
        ("author", "submit", "live", 409, "invalid_transition"),
    ],
)
def test_transition__api_refusals(
    api: dict[str, APIClient],
    sop: SOP,
    people: dict[str, Any],
    role: str,
    action: str,
    state: str,
    status: int,
    code: str,
) -> None:
    version = advance(draft(sop, people["author"]), people, state)
    response = api[role].post(
        f"/api/v1/versions/{version.pk}/{action}/", {"reason": "x", "comment": "x", "password": "pw"}, format="json"
    )
    assert response.status_code == status
    body = response.json()
    assert body["error"] == code
    assert body["detail"]
    version.refresh_from_db()
    assert version.status == state


def test_reject__missing_comment__400_names_field(api: dict[str, APIClient], sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    response = api["reviewer"].post(f"/api/v1/versions/{version.pk}/reject/", {"password": "pw"}, format="json")
    assert response.status_code == 400
    assert "comment" in response.json()["fields"]


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        {"content": 5, "summary": [], "change_note": None},
        {"content": CONTENT, "summary": "s", "change_note": "n", "example_questions": "not a list"},
        {"summary": "s"},
    ],
)
def test_create_version__malformed_body__400(api: dict[str, APIClient], sop: SOP, body: Any) -> None:
    if isinstance(body, str):
        response = api["author"].post(f"/api/v1/sops/{sop.pk}/versions/", body, content_type="application/json")
    else:
        response = api["author"].post(f"/api/v1/sops/{sop.pk}/versions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_input", "parse_error")
    assert SOPVersion.objects.count() == 0


def test_create_version__oversized_content__400_with_size(api: dict[str, APIClient], sop: SOP, settings: Any) -> None:
    settings.SOPGOV = {**settings.SOPGOV, "MAX_CONTENT_BYTES": 1000}
    body = {"content": "é" * 600, "summary": "s", "change_note": "n"}
    response = api["author"].post(f"/api/v1/sops/{sop.pk}/versions/", body, format="json")
    assert response.status_code == 400
    assert "1,200 bytes" in response.json()["fields"]["content"][0]


def test_request_body_over_limit__413(api: dict[str, APIClient], sop: SOP, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"content": "x" * 20_000, "summary": "s", "change_note": "n"}
    response = api["author"].post(f"/api/v1/sops/{sop.pk}/versions/", body, format="json")
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_edit_draft__stale_revision__409_and_kept(api: dict[str, APIClient], sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    body = {"content": "## edited", "summary": "s", "change_note": "n", "example_questions": [], "revision": 1}
    assert api["author"].patch(f"/api/v1/versions/{version.pk}/", body, format="json").status_code == 200
    stale = api["author"].patch(f"/api/v1/versions/{version.pk}/", {**body, "content": "## lost?"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["error"] == "edit_conflict"
    assert stale.json()["current_revision"] == 2
    version.refresh_from_db()
    assert version.content == "## edited"


def test_diff__against_live__unified_diff(
    api: dict[str, APIClient], live_version: SOPVersion, people: dict[str, Any]
) -> None:
    v2 = draft(live_version.sop, people["author"], content=CONTENT.replace("Follow", "Apply"))
    body = api["reviewer"].get(f"/api/v1/versions/{v2.pk}/diff/").json()
    assert body["against"] == live_version.pk
    assert "-2. Follow the procedure." in body["unified_diff"]
    assert "+2. Apply the procedure." in body["unified_diff"]


def test_audit_api__author__403(api: dict[str, APIClient]) -> None:
    assert api["author"].get("/api/v1/audit-events/").status_code == 403


def test_audit_api__no_write_methods(api: dict[str, APIClient], live_version: SOPVersion) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    for method in ("post", "put", "patch", "delete"):
        response = getattr(api["admin"], method)(f"/api/v1/audit-events/{event.pk}/", {}, format="json")
        assert response.status_code == 405


def test_schema__openapi_served(api: dict[str, APIClient]) -> None:
    response = api["auditor"].get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/versions/{id}/approve/" in paths
    assert "/api/v1/sops/{id}/versions/" in paths
