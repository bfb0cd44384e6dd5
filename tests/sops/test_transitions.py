"""Every lifecycle action for every role — through the services, the API and the admin — with
its audit event. Review actions are ``sops``'; release actions are the release layer's."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidTransition, PermissionDenied
from apps.releases import services as releases
from apps.sops import services
from apps.sops.models import SOP, SOPVersion
from tests.conftest import advance, draft, sign

ROLES = ["author", "author2", "reviewer", "reviewer2", "release", "auditor", "admin", "nobody", "author_reviewer"]

# Who may take each action on a version written by ``author`` (in the action's source state).
ALLOWED = {
    "submit": {"author", "admin"},
    "approve": {"reviewer", "reviewer2", "admin", "author_reviewer"},
    "reject": {"reviewer", "reviewer2", "admin", "author_reviewer"},
    "publish": {"release", "admin"},
    "rollback": {"release", "admin"},
    "retire": {"release", "admin"},
}
TARGET = {
    "submit": "in_review",
    "approve": "approved",
    "reject": "rejected",
    "publish": "live",
    "rollback": "live",
    "retire": "retired",
}
AUDIT_ACTION = {
    "submit": "version.submit",
    "approve": "version.approve",
    "reject": "version.reject",
    "publish": "version.go_live",
    "rollback": "version.rollback",
    "retire": "version.retire",
}


def _version_for(action: str, sop: SOP, people: dict[str, Any]) -> SOPVersion:
    """Return a version of ``sop`` (written by ``author``) in the state ``action`` starts from."""
    if action == "submit":
        return draft(sop, people["author"])
    if action in ("approve", "reject"):
        return advance(draft(sop, people["author"]), people, "in_review")
    if action == "publish":
        return advance(draft(sop, people["author"]), people, "approved")
    if action == "retire":
        return advance(draft(sop, people["author"]), people, "live")
    # rollback: v1 live, then v2 published, so v1 is superseded
    v1 = advance(draft(sop, people["author"]), people, "live")
    advance(draft(sop, people["author"], content="## v2"), people, "live")
    v1.refresh_from_db()
    return v1


def _run(action: str, actor: Any, version: SOPVersion) -> SOPVersion:
    text = {
        "approve": {"comment": "fine"},
        "reject": {"comment": "not clear"},
        "publish": {"reason": "ready"},
        "rollback": {"reason": "v2 confused agents"},
        "retire": {"reason": "obsolete"},
    }.get(action, {})
    signed = {"signature": sign(actor, action)} if action in SIGNED else {}
    service = SERVICES.get(action) or releases.RELEASE_SERVICES[action]
    return service(actor=actor, version=version, **text, **signed)


SIGNED = ("approve", "reject", "publish", "rollback", "retire")
SERVICES = {
    "submit": services.sop_version_submit,
    "approve": services.sop_version_approve,
    "reject": services.sop_version_reject,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_transition__by_role__allowed_or_forbidden(action: str, role: str, sop: SOP, people: dict[str, Any]) -> None:
    # Given a version in the action's source state
    version = _version_for(action, sop, people)
    status_before = version.status
    events_before = AuditEvent.objects.count()
    # When the role attempts the action
    if role in ALLOWED[action]:
        result = _run(action, people[role], version)
        # Then the version moves on and the audit trail records who did it, from what to what
        assert result.status == TARGET[action]
        event = AuditEvent.objects.filter(action=AUDIT_ACTION[action], target_id=str(version.pk)).latest("id")
        assert event.actor == people[role]
        assert event.before["status"] == status_before
        assert event.after["status"] == TARGET[action]
        assert event.sop_slug == "billing/refund_policy"
        if action in SIGNED:  # the decision's event carries its e-signature
            assert event.data["signature"]["content_sha256"] == version.content_sha256
            assert event.data["signature"]["signer"] == people[role].get_username()
    else:
        with pytest.raises(PermissionDenied):
            _run(action, people[role], version)
        # Then nothing changed and nothing was recorded
        version.refresh_from_db()
        assert version.status == status_before
        assert AuditEvent.objects.count() == events_before


WRONG_STATES = {
    "submit": ["in_review", "approved", "live"],
    "approve": ["draft", "approved", "live"],
    "reject": ["draft", "approved", "live"],
    "publish": ["draft", "in_review", "live"],
    "rollback": ["draft", "in_review", "approved", "live"],
    "retire": ["draft", "in_review", "approved"],
}
ACTOR_FOR = {
    "submit": "author",
    "approve": "reviewer",
    "reject": "reviewer",
    "publish": "release",
    "rollback": "release",
    "retire": "release",
}


@pytest.mark.parametrize(("action", "state"), [(a, s) for a, states in WRONG_STATES.items() for s in states])
def test_transition__from_wrong_state__invalid_transition(
    action: str, state: str, sop: SOP, people: dict[str, Any]
) -> None:
    # Given a version in a state the action does not start from
    version = advance(draft(sop, people["author"]), people, state)
    events_before = AuditEvent.objects.count()
    # When a person allowed to take the action tries it
    with pytest.raises(InvalidTransition) as caught:
        _run(action, people[ACTOR_FOR[action]], version)
    # Then it is refused with a message naming the state, and nothing changes
    assert version.get_status_display().lower() in caught.value.message
    version.refresh_from_db()
    assert version.status == state
    assert AuditEvent.objects.count() == events_before


def _text_for(action: str) -> dict[str, str]:
    return {
        "approve": {"comment": "fine", "password": "pw"},
        "reject": {"comment": "not clear", "password": "pw"},
        "publish": {"reason": "ready", "password": "pw"},
        "rollback": {"reason": "v2 confused agents", "password": "pw"},
        "retire": {"reason": "obsolete", "password": "pw"},
    }.get(action, {})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_transition__by_role__through_the_api(action: str, role: str, sop: SOP, people: dict[str, Any]) -> None:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    version = _version_for(action, sop, people)
    status_before = version.status
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=people[role])[0].key}")
    response = client.post(f"/api/v1/versions/{version.pk}/{action}/", _text_for(action), format="json")
    version.refresh_from_db()
    if role in ALLOWED[action]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == TARGET[action] == version.status
        assert AuditEvent.objects.filter(action=AUDIT_ACTION[action], actor=people[role]).exists()
    else:
        assert response.status_code == 403
        assert response.json()["error"] in ("permission_denied", "self_approval_forbidden")
        assert version.status == status_before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_transition__by_role__through_the_admin(action: str, role: str, sop: SOP, people: dict[str, Any]) -> None:
    from django.test import Client

    version = _version_for(action, sop, people)
    status_before = version.status
    client = Client()
    client.force_login(people[role])
    page = client.get(f"/admin/sops/sopversion/{version.pk}/change/").content.decode()
    offered = f'data-action="{action}"' in page
    text = next((v for k, v in _text_for(action).items() if k != "password"), "")
    url = (
        f"/admin/sops/sopversion/{version.pk}/do/{action}/"
        if action in SERVICES
        else f"/admin/release/versions/{version.pk}/{action}/"
    )
    response = client.post(url, {"text": text, "password": "pw"}, follow=True)
    version.refresh_from_db()
    if role == "nobody":  # no role at all: the governance pages are closed to them
        assert response.status_code == 403
        assert version.status == status_before
        return
    assert response.status_code == 200
    if role in ALLOWED[action]:
        assert offered
        assert version.status == TARGET[action]
        assert AuditEvent.objects.filter(action=AUDIT_ACTION[action], actor=people[role]).exists()
    else:
        assert not offered
        assert version.status == status_before
        assert any("Only" in str(m) for m in response.context["messages"])
