"""Withdrawing: an author discards a draft or takes back a submission; nothing is deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import InvalidTransition, PermissionDenied
from apps.sops import services
from apps.sops.models import SOPVersion, VersionStatus
from tests.conftest import advance, draft, sign


def test_withdraw__draft__kept_as_withdrawn_with_one_audit_event(sop: Any, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    services.sop_version_withdraw(actor=people["author"], version=version, reason="  started over  ")
    version.refresh_from_db()
    assert version.status == VersionStatus.WITHDRAWN
    event = AuditEvent.objects.get(action=AuditAction.VERSION_WITHDRAW, target_id=str(version.pk))
    assert (event.reason, event.data["from"], event.actor) == ("started over", "draft", people["author"])
    assert event.before["status"] == "draft" and event.after["status"] == "withdrawn"
    # the SOP is free for a new draft, and the withdrawn one is still there
    second = draft(sop, people["author"], content="# Refunds\n\nA second try.")
    assert second.number == version.number + 1
    assert SOPVersion.objects.filter(pk=version.pk).exists()


def test_withdraw__in_review__reviewers_no_longer_asked(sop: Any, people: dict[str, Any]) -> None:
    from apps.sops.selectors import versions_awaiting_review

    version = advance(draft(sop, people["author"]), people, "in_review")
    assert list(versions_awaiting_review(people["reviewer"])) == [version]
    services.sop_version_withdraw(actor=people["author"], version=version)
    assert list(versions_awaiting_review(people["reviewer"])) == []
    with pytest.raises(InvalidTransition, match="it is withdrawn"):
        services.sop_version_approve(
            actor=people["reviewer"], version=version, comment="", signature=sign(people["reviewer"], "approve")
        )


@pytest.mark.parametrize("who", ["reviewer", "author2", "release", "auditor"])
def test_withdraw__not_author_or_owner__refused(sop: Any, people: dict[str, Any], who: str) -> None:
    version = draft(sop, people["author"])
    with pytest.raises(PermissionDenied):
        services.sop_version_withdraw(actor=people[who], version=version)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


def test_withdraw__approved_or_live__invalid_transition(sop: Any, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "approved")
    with pytest.raises(InvalidTransition, match="only a version that is draft or in review can be withdrawn"):
        services.sop_version_withdraw(actor=people["author"], version=version)


def test_api_withdraw__author_200__reviewer_403_before_body__live_409(sop: Any, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    reviewer = APIClient()
    reviewer.force_authenticate(people["reviewer"])
    refused = reviewer.post(f"/api/v1/versions/{version.pk}/withdraw/", {"reason": 5}, format="json")
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    author = APIClient()
    author.force_authenticate(people["author"])
    done = author.post(f"/api/v1/versions/{version.pk}/withdraw/", {"reason": "not needed"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "withdrawn"
    live = advance(draft(sop, people["author"]), people, "live")
    conflict = author.post(f"/api/v1/versions/{live.pk}/withdraw/", {}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"] == "invalid_transition"


def test_version_page__draft_offers_discard__submission_offers_withdraw(sop: Any, people: dict[str, Any]) -> None:
    client = Client()
    client.force_login(people["author"])
    version = draft(sop, people["author"])
    page = client.get(f"/admin/sops/sopversion/{version.pk}/change/").content.decode()
    assert "Discard draft" in page
    response = client.post(f"/admin/sops/sopversion/{version.pk}/do/withdraw/", {"text": "duplicate"}, follow=True)
    assert "Discarded" in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.WITHDRAWN

    submitted = advance(draft(sop, people["author"]), people, "in_review")
    page = client.get(f"/admin/sops/sopversion/{submitted.pk}/change/").content.decode()
    assert "Withdraw from review" in page and "Discard draft" not in page
    reviewer = Client()
    reviewer.force_login(people["reviewer"])
    assert "Withdraw from review" not in reviewer.get(f"/admin/sops/sopversion/{submitted.pk}/change/").content.decode()
