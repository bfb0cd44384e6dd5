"""Periodic review: a review-by date from going live, owners reminded, a signed confirmation
or a new draft; retention prunes the tool-call log but never audit events."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.agents.models import ToolCall
from apps.agents.services import tool_calls_prune
from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, InvalidTransition, PermissionDenied
from apps.releases import services as releases
from apps.signatures.models import Signature
from apps.sops import services
from apps.sops.models import SOP
from apps.sops.selectors import reviews_due
from tests.conftest import advance, draft, sign


def test_go_live__review_due_one_period_later__retire_clears_it(sop: SOP, people: dict[str, Any]) -> None:
    live = advance(draft(sop, people["author"]), people, "live")
    sop.refresh_from_db()
    today = timezone.localdate()
    due = sop.review_due_on
    assert due is not None and (due.year - today.year) * 12 + due.month - today.month == 12  # the category's 12 months
    releases.release_retire(
        actor=people["release"], version=live, reason="obsolete", signature=sign(people["release"], "retire")
    )
    sop.refresh_from_db()
    assert sop.review_due_on is None


def test_review_due_from__month_end__clamped_to_the_shorter_month(sop: SOP) -> None:
    sop.category.review_period_months = 1
    assert services.review_due_from(sop, date(2026, 1, 31)) == date(2026, 2, 28)


def test_confirm_review__owner_signs__next_date_audited_with_signature(sop: SOP, people: dict[str, Any]) -> None:
    live = advance(draft(sop, people["author"]), people, "live")
    SOP.objects.filter(pk=sop.pk).update(review_due_on=timezone.localdate() - timedelta(days=3))
    sop.refresh_from_db()
    assert sop.review_overdue
    sop = services.sop_review_confirm(
        actor=people["author"],
        sop=sop,
        comment="Checked against policy 2026",
        signature=sign(people["author"], "review"),
    )
    assert not sop.review_overdue and sop.review_due_on > timezone.localdate() + timedelta(days=300)
    signature = Signature.objects.get(action="review")
    assert (signature.meaning, signature.version, signature.content_sha256) == (
        "review_confirmed",
        live,
        live.content_sha256,
    )
    event = AuditEvent.objects.get(action="sop.review")
    assert event.reason == "Checked against policy 2026" and event.data["signature"]["id"] == signature.pk
    assert event.before["review_due_on"] < event.after["review_due_on"]


def test_confirm_review__refusals(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(InvalidTransition, match="no live version"):
        services.sop_review_confirm(actor=people["author"], sop=sop, signature=sign(people["author"], "review"))
    advance(draft(sop, people["author"]), people, "live")
    with pytest.raises(PermissionDenied, match="owner, reviewers and admins"):
        services.sop_review_confirm(actor=people["release"], sop=sop, signature=sign(people["release"], "review"))
    with pytest.raises(InvalidInput, match="e-signature"):
        services.sop_review_confirm(actor=people["reviewer"], sop=sop)
    assert not AuditEvent.objects.filter(action="sop.review").exists()


def test_reminders__due_soon_or_overdue__once_a_week_to_the_owner(
    sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    advance(draft(sop, people["author"]), people, "live")
    today = timezone.localdate()
    SOP.objects.filter(pk=sop.pk).update(review_due_on=today + timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sop_reviews_remind(today) == [sop.pk]
    assert [m.to for m in mail.outbox] == [[people["author"].email]]
    assert "is due by" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sop_reviews_remind(today + timedelta(days=3)) == []  # reminded this week already
        assert services.sop_reviews_remind(today + timedelta(days=12)) == [sop.pk]  # a week on, and overdue
    assert "overdue" in mail.outbox[-1].subject or "is due by" in mail.outbox[-1].subject
    assert AuditEvent.objects.filter(action="sop.review_reminder", sop_slug=sop.slug).count() == 2
    assert list(reviews_due()) == [sop]


def test_review_page__owner_confirms_in_the_browser_flow(sop: SOP, people: dict[str, Any]) -> None:
    advance(draft(sop, people["author"]), people, "live")
    SOP.objects.filter(pk=sop.pk).update(review_due_on=timezone.localdate() - timedelta(days=1))
    client = Client()
    client.force_login(people["author"])
    page = client.get(f"/admin/sops/sop/{sop.pk}/change/").content.decode()
    assert 'id="review-overdue"' in page and 'id="review-form"' in page
    wrong = client.post(
        f"/admin/sops/sop/{sop.pk}/review/", {"password": "nope", "meaning": "review_confirmed"}, follow=True
    )
    assert "Wrong password" in wrong.content.decode()
    done = client.post(
        f"/admin/sops/sop/{sop.pk}/review/",
        {"password": "pw", "meaning": "review_confirmed", "text": "ok"},
        follow=True,
    )
    assert "Periodic review of billing/refund_policy signed" in done.content.decode()
    due = client.get("/admin/sops/sop/reviews/").content.decode()
    assert "No periodic review is due" in due


def test_retention__old_tool_calls_pruned_recent_kept_audited(people: dict[str, Any], settings: Any) -> None:
    settings.SOPGOV_TOOL_CALL_RETENTION_DAYS = 30
    now = timezone.now()

    def call(age_days: int) -> ToolCall:
        return ToolCall.objects.create(
            call_id=uuid.uuid4(),
            called_at=now - timedelta(days=age_days),
            bridge_id="b",
            tool="list_sop_categories",
            agent_name="a",
            arguments_sha256="0" * 64,
            latency_ms=1.0,
        )

    old, recent = [call(40), call(31)], call(29)
    events_before = AuditEvent.objects.count()
    assert tool_calls_prune() == 2
    assert list(ToolCall.objects.values_list("pk", flat=True)) == [recent.pk]
    event = AuditEvent.objects.get(action="toolcalls.prune")
    assert (event.after["deleted"], event.after["retention_days"], event.target_label) == (2, 30, "tool-call log")
    assert AuditEvent.objects.count() == events_before + 1  # audit events are never pruned
    assert tool_calls_prune() == 0 and len(old) == 2
