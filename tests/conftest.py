"""Fixtures shared by the whole suite. Tests run against the real PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from apps.accounts import roles
from apps.sops import services
from apps.sops.models import SOP, SOPVersion
from tests.factories import CategoryFactory, SOPFactory, UserFactory

CONTENT = "## Steps\n1. Verify the customer's identity.\n2. Follow the procedure."


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    """One person per role, plus a second author and reviewer, an admin and a role-less user."""
    return {
        "author": UserFactory(username="author", roles=[roles.AUTHOR]),
        "author2": UserFactory(username="author2", roles=[roles.AUTHOR]),
        "reviewer": UserFactory(username="reviewer", roles=[roles.REVIEWER]),
        "reviewer2": UserFactory(username="reviewer2", roles=[roles.REVIEWER]),
        "release": UserFactory(username="release", roles=[roles.RELEASE_MANAGER]),
        "auditor": UserFactory(username="auditor", roles=[roles.AUDITOR]),
        "admin": UserFactory(username="admin", roles=[roles.ADMIN], is_superuser=True),
        "nobody": UserFactory(username="nobody"),
        "author_reviewer": UserFactory(username="author_reviewer", roles=[roles.AUTHOR, roles.REVIEWER]),
    }


@pytest.fixture
def sop(people: dict[str, Any]) -> SOP:
    """An SOP ``billing/refund_policy`` owned by ``author``; its category needs one approval."""
    return SOPFactory(
        category=CategoryFactory(slug="billing"), key="refund_policy", title="Refund policy", owner=people["author"]
    )


def draft(sop: SOP, author: Any, content: str = CONTENT, **kwargs: Any) -> SOPVersion:
    """Create a draft of ``sop`` by ``author`` through the service."""
    fields = {"summary": "Use for refunds.", "example_questions": ["Can I get a refund?"], "change_note": "First cut"}
    fields.update(kwargs)
    return services.sop_version_create(actor=author, sop=sop, content=content, **fields)


def sign(user: Any, action: str, meaning: str | None = None) -> Any:
    """Return ``user``'s e-signature for ``action``, as if they re-entered their password ("pw")."""
    from apps.signatures.services import signature_verify

    return signature_verify(signer=user, password="pw", action=action, meaning=meaning)


def advance(version: SOPVersion, people: dict[str, Any], to: str) -> SOPVersion:
    """Move ``version`` along draft → in_review → approved → live with the right people."""
    order = ["draft", "in_review", "approved", "live"]
    while order.index(version.status) < order.index(to):
        if version.status == "draft":
            version = services.sop_version_submit(actor=version.author, version=version)
        elif version.status == "in_review":
            for name in ("reviewer", "reviewer2"):
                if version.status == "in_review":
                    version = services.sop_version_approve(
                        actor=people[name], signature=sign(people[name], "approve"), version=version, comment="ok"
                    )
        elif version.status == "approved":
            from apps.releases.services import release_publish, rollout_complete

            version = release_publish(
                actor=people["release"], signature=sign(people["release"], "publish"), version=version, reason="go"
            )
            if version.status == "canary":  # a live version existed: a rollout started; finish it
                from apps.rollouts.selectors import active_rollout

                rollout_complete(
                    actor=people["release"],
                    rollout=active_rollout(version.sop),
                    reason="done",
                    signature=sign(people["release"], "rollout_complete"),
                )
                version.refresh_from_db()
    return version


def publish_customer_service(people: dict[str, Any], billing_approvals: int = 1) -> dict[str, SOP]:
    """Publish the seed's nine customer-service SOPs (``apps/demo/library/customer_service.json``),
    approved by ``reviewer`` (and ``reviewer2`` when billing needs two); return ``{slug: SOP}``."""
    import json

    from apps.demo.banking77 import LIBRARY_DIR
    from apps.releases.importing import library_import

    CategoryFactory(slug="billing", min_approvals=billing_approvals)
    rows = json.loads((LIBRARY_DIR / "customer_service.json").read_text(encoding="utf-8"))
    library_import(
        rows=list(enumerate(rows, 1)),
        author=people["author"],
        publish=True,
        approvers=[people["reviewer"], people["reviewer2"]][:billing_approvals],
        publisher=people["release"],
    )
    return {sop.slug: sop for sop in SOP.objects.select_related("category")}


@pytest.fixture
def customer_service(people: dict[str, Any]) -> dict[str, SOP]:
    """The seed's nine customer-service SOPs, live, one approval each; ``{"category/key": SOP}``."""
    return publish_customer_service(people)


@pytest.fixture
def live_version(sop: SOP, people: dict[str, Any]) -> SOPVersion:
    """Version 1 of ``sop``, live."""
    return advance(draft(sop, people["author"]), people, "live")


@pytest.fixture
def fast_plan(sop: SOP) -> Any:
    """``sop``'s category rolls out 10 → 50 → 100 %, 60 s soak and 10 candidate outcomes a stage,
    with one gate: the candidate's complaint rate must not be clearly above 20 %."""
    from tests.rollouts.conftest import COMPLAINTS_AT_MOST_20_PERCENT, make_plan

    return make_plan("fast", [(10, 60, 10), (50, 60, 10), (100, 0, 0)], [COMPLAINTS_AT_MOST_20_PERCENT], sop.category)


@pytest.fixture
def candidate(sop: SOP, live_version: SOPVersion, people: dict[str, Any]) -> SOPVersion:
    """Version 2 of ``sop``, approved, with version 1 live."""
    return advance(draft(sop, people["author"], content="## Steps\n1. The new way."), people, "approved")


def status_changes_and_events() -> tuple[list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    """Return every status change of every version, from its history (django-simple-history),
    and every audit event that records one (``before.status`` ≠ ``after.status``), both as
    ``(version id, from, to)`` in order."""
    from apps.audit.models import AuditEvent

    changes: list[tuple[int, str, str]] = []
    for version in SOPVersion.objects.order_by("pk"):
        previous = None
        for record in version.history.order_by("history_date", "history_id"):
            if previous is not None and record.status != previous:
                changes.append((version.pk, previous, record.status))
            previous = record.status
    events = [
        (int(e.target_id), e.before["status"], e.after["status"])
        for e in AuditEvent.objects.filter(target_type="sopversion").order_by("id")
        if e.before and e.after and "status" in e.before and e.before["status"] != e.after.get("status")
    ]
    return changes, events


def assert_one_event_per_status_change() -> None:
    """Assert that each version status change wrote exactly one audit event, and no event claims
    a change that did not happen."""
    changes, events = status_changes_and_events()
    assert sorted(changes) == sorted(events)


def publish_new_version(sop_key: str, people: dict[str, Any], content: str) -> SOPVersion:
    """Draft ``content`` as a new version of the live SOP ``sop_key``, approve it and publish it
    to 100 % at once (an emergency fix: no rollout); return the new version."""
    from apps.releases.services import release_publish

    live = SOPVersion.objects.get(sop__key=sop_key, status="live")
    candidate = advance(draft(live.sop, people["author"], content=content), people, "approved")
    release_publish(
        actor=people["release"],
        signature=sign(people["release"], "publish"),
        version=candidate,
        reason="e2e",
        immediate=True,
    )
    return candidate
