"""The one writer of a version's status: ``services.version_transition``."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidTransition
from apps.sops.models import SOP, SOPVersion
from apps.sops.services import version_lock, version_transition
from apps.sops.workflow import RETIRE, SUBMIT, TRANSITIONS
from tests.conftest import draft


def test_status_changed_outside_the_writer__save_refused(sop: SOP, people: dict[str, Any]) -> None:
    # Given a draft, When someone sets its status and saves it directly
    version = draft(sop, people["author"])
    version.status = "live"
    # Then the model refuses: only version_transition may change a status
    with pytest.raises(RuntimeError, match="version_transition"):
        version.save()
    assert SOPVersion.objects.get(pk=version.pk).status == "draft"


def test_new_version_not_a_draft__refused(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError):
        SOPVersion(
            sop=sop, number=9, status="live", content="x", summary="x", change_note="x", author=people["author"]
        ).save()


def test_writer__checks_the_table_and_writes_one_event(
    sop: SOP, people: dict[str, Any], django_db_blocker: Any
) -> None:
    from django.db import transaction

    version = draft(sop, people["author"])
    with transaction.atomic():
        locked_sop, locked = version_lock(version)
        with pytest.raises(InvalidTransition):
            version_transition(sop=locked_sop, version=locked, actor=people["author"], transition=RETIRE)
        version_transition(sop=locked_sop, version=locked, actor=people["author"], transition=SUBMIT)
    events = AuditEvent.objects.filter(target_type="sopversion", target_id=str(version.pk), action="version.submit")
    assert [(e.before["status"], e.after["status"]) for e in events] == [("draft", "in_review")]


def test_every_transition__has_its_own_audit_action() -> None:
    actions = [t.audit_action for t in TRANSITIONS.values()]
    assert len(actions) == len(set(actions))
