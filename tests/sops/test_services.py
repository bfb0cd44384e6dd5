"""Lifecycle rules through the services: approvals, self-approval, immutability, live versions."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.core.errors import (
    AlreadyReviewed,
    Conflict,
    EditConflict,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    SelfApprovalForbidden,
)
from apps.publishing.selectors import current_bundle
from apps.releases import services as releases
from apps.sops import services
from apps.sops.models import SOP, SOPVersion, VersionStatus
from tests.conftest import CONTENT, advance, draft, sign
from tests.factories import CategoryFactory, SOPFactory


def test_approve__own_version__self_approval_forbidden(sop: SOP, people: dict[str, Any]) -> None:
    # Given a version written by someone who is both author and reviewer
    version = advance(draft(sop, people["author_reviewer"]), people, "draft")
    version = services.sop_version_submit(actor=people["admin"], version=version)
    # When they approve or reject it
    for attempt in (services.sop_version_approve, services.sop_version_reject):
        with pytest.raises(SelfApprovalForbidden) as caught:
            attempt(actor=people["author_reviewer"], version=version, comment="mine")
        assert "own version" in caught.value.message
    # Then it stays in review with no review and no audit event of approval
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    assert version.reviews.count() == 0
    assert not AuditEvent.objects.filter(action__in=["version.approve", "version.reject"]).exists()


def test_approve__admin_wrote_it__still_self_approval_forbidden(sop: SOP, people: dict[str, Any]) -> None:
    version = services.sop_version_submit(actor=people["admin"], version=draft(sop, people["admin"]))
    with pytest.raises(SelfApprovalForbidden):
        services.sop_version_approve(actor=people["admin"], signature=sign(people["admin"], "approve"), version=version)


def test_approve__category_needs_two__approved_after_second(people: dict[str, Any]) -> None:
    # Given a category whose policy needs two approvals
    sop = SOPFactory(category=CategoryFactory(slug="payments", min_approvals=2), owner=people["author"])
    version = services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
    # When one reviewer approves, it is still in review
    version = services.sop_version_approve(
        actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version, comment="one"
    )
    assert version.status == VersionStatus.IN_REVIEW
    event = AuditEvent.objects.filter(action="version.approve").latest("id")
    assert (event.data["approvals"], event.data["approvals_required"]) == (1, 2)
    assert event.data["signature"]["meaning"] == "approved" and event.data["signature"]["signer"] == "reviewer"
    # And the same reviewer cannot count twice
    with pytest.raises(AlreadyReviewed):
        services.sop_version_approve(
            actor=people["reviewer"], signature=sign(people["reviewer"], "approve"), version=version
        )
    # When a second reviewer approves, it is approved
    version = services.sop_version_approve(
        actor=people["reviewer2"], signature=sign(people["reviewer2"], "approve"), version=version, comment="two"
    )
    assert version.status == VersionStatus.APPROVED
    assert version.reviews.filter(decision="approved").count() == 2
    assert all(r.content_sha256 == version.content_sha256 for r in version.reviews.all())


def test_new_version__after_approval__starts_without_approvals(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "approved")
    v2 = services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"], content="## v2"))
    assert v1.reviews.count() == 1
    assert v2.reviews.count() == 0
    assert v2.number == v1.number + 1


def test_reject__without_reason__invalid_input_and_unchanged(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    with pytest.raises(InvalidInput):
        services.sop_version_reject(
            actor=people["reviewer"], signature=sign(people["reviewer"], "reject"), version=version, comment="  "
        )
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW


@pytest.mark.parametrize("action", ["rollback", "retire"])
def test_release_action__without_reason__invalid_input(action: str, sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    if action == "rollback":
        advance(draft(sop, people["author"], content="## v2"), people, "live")
        v1.refresh_from_db()
    with pytest.raises(InvalidInput):
        releases.RELEASE_SERVICES[action](actor=people["release"], version=v1, reason="")


def test_edit__submitted_version__immutable(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "in_review")
    with pytest.raises(InvalidTransition) as caught:
        services.sop_version_edit(
            actor=people["author"],
            version=version,
            content="changed",
            summary="s",
            example_questions=[],
            change_note="n",
            expected_revision=version.revision,
        )
    assert "new draft" in caught.value.message
    version.refresh_from_db()
    assert version.content == CONTENT


def test_edit__someone_elses_draft__permission_denied(sop: SOP, people: dict[str, Any]) -> None:
    version = draft(sop, people["author"])
    with pytest.raises(PermissionDenied):
        services.sop_version_edit(
            actor=people["author2"],
            version=version,
            content="x",
            summary="s",
            example_questions=[],
            change_note="n",
            expected_revision=version.revision,
        )


def test_edit__stale_revision__edit_conflict_and_nothing_saved(sop: SOP, people: dict[str, Any]) -> None:
    # Given a draft that was saved since the editor loaded revision 1
    version = draft(sop, people["author"])
    services.sop_version_edit(
        actor=people["author"],
        version=version,
        content="## first save",
        summary="s",
        example_questions=[],
        change_note="n",
        expected_revision=1,
    )
    # When a save based on revision 1 arrives
    with pytest.raises(EditConflict) as caught:
        services.sop_version_edit(
            actor=people["author"],
            version=version,
            content="## stale save",
            summary="s",
            example_questions=[],
            change_note="n",
            expected_revision=1,
        )
    # Then it is refused and the first save is kept
    assert caught.value.extra["current_revision"] == 2
    version.refresh_from_db()
    assert version.content == "## first save"
    edit = AuditEvent.objects.filter(action="version.edit").get()
    assert edit.after["content_sha256"] == version.content_sha256


def test_create__invalid_fields__all_reported(sop: SOP, people: dict[str, Any], settings: Any) -> None:
    settings.SOPGOV = {**settings.SOPGOV, "MAX_CONTENT_BYTES": 100}
    with pytest.raises(InvalidInput) as caught:
        services.sop_version_create(
            actor=people["author"],
            sop=sop,
            content="x" * 101,
            summary="two\nlines",
            example_questions=["ok", 3],
            change_note="",
        )  # type: ignore[list-item]
    assert set(caught.value.field_errors) == {"content", "summary", "example_questions", "change_note"}
    assert "101 bytes" in caught.value.field_errors["content"][0]
    assert sop.versions.count() == 0


def test_create__by_reviewer__permission_denied(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        draft(sop, people["reviewer"])


def test_publish__replaces_live__previous_superseded_and_bundle_updated(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    v2 = advance(draft(sop, people["author"], content="## v2 steps"), people, "live")
    v1.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.SUPERSEDED, VersionStatus.LIVE)
    assert v1.ended_at is not None
    assert SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).count() == 1
    supersede = AuditEvent.objects.get(action="version.supersede")
    assert supersede.data == {"replaced_by": 2}
    bundle = current_bundle()
    assert bundle is not None and '"content":"## v2 steps"' in bundle.payload


def test_rollback__to_superseded__live_again_and_reason_recorded(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    v2 = advance(draft(sop, people["author"], content="## v2"), people, "live")
    v1.refresh_from_db()
    releases.release_rollback(
        actor=people["release"], signature=sign(people["release"], "rollback"), version=v1, reason="v2 confused agents"
    )
    v1.refresh_from_db(), v2.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.LIVE, VersionStatus.SUPERSEDED)
    event = AuditEvent.objects.filter(action="version.rollback").get()
    assert event.reason == "v2 confused agents"
    assert event.data["replaces"] == 2 and event.data["signature"]["meaning"] == "rolled_back"
    assert current_bundle().payload.count('"version":1') == 1  # type: ignore[union-attr]


def test_retire__live__nothing_served_then_rollback_restores(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    releases.release_retire(
        actor=people["release"], signature=sign(people["release"], "retire"), version=v1, reason="obsolete"
    )
    assert current_bundle().sop_count == 0  # type: ignore[union-attr]
    v1.refresh_from_db()
    releases.release_rollback(
        actor=people["release"], signature=sign(people["release"], "rollback"), version=v1, reason="still needed"
    )
    assert current_bundle().sop_count == 1  # type: ignore[union-attr]


def test_one_live_version__database_constraint__enforced(sop: SOP, people: dict[str, Any]) -> None:
    v1 = advance(draft(sop, people["author"]), people, "live")
    v2 = draft(sop, people["author"], content="## v2")
    # bypassing the one status writer, straight to the database: the partial unique index holds
    with pytest.raises(IntegrityError), transaction.atomic():
        SOPVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.LIVE)
    v1.refresh_from_db()
    assert v1.status == VersionStatus.LIVE


def test_sop_create__duplicate_key__conflict(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(Conflict):
        services.sop_create(actor=people["author"], category=sop.category, key="refund_policy", title="Again")


def test_sop_create__bad_key__invalid_input(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.sop_create(actor=people["author"], category=sop.category, key="has space/slash", title="")
    assert set(caught.value.field_errors) == {"key", "title"}


def test_submit__sends_reviewers_email(
    sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.sop_version_submit(actor=people["author"], version=draft(sop, people["author"]))
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"reviewer@example.com", "reviewer2@example.com", "author_reviewer@example.com"}
    assert "billing/refund_policy v1" in mail.outbox[0].subject


def test_history__transitions__recorded_with_actor(sop: SOP, people: dict[str, Any]) -> None:
    version = advance(draft(sop, people["author"]), people, "live")
    history = list(version.history.order_by("history_date").values_list("status", "history_user__username"))
    assert history[0] == ("draft", "author")
    assert ("live", "release") in history
