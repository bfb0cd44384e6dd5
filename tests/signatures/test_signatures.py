"""E-signatures: the password re-entered, the meaning chosen, the content bound; wrong
passwords refused and audited; repeated failures lock signing; signatures never change."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, PermissionDenied
from apps.signatures.models import Signature
from apps.signatures.services import SignatureRefused, SigningLocked, signature_verify
from apps.sops import services
from apps.sops.models import SOP
from tests.conftest import advance, draft, sign
from tests.sops.test_api import client_for


def _in_review(sop: SOP, people: dict[str, Any]) -> Any:
    return advance(draft(sop, people["author"]), people, "in_review")


def test_approve__signed__signature_binds_signer_meaning_time_and_content(sop: SOP, people: dict[str, Any]) -> None:
    version = _in_review(sop, people)
    people["reviewer"].first_name, people["reviewer"].last_name = "Rita", "Reviewer"
    people["reviewer"].save()
    services.sop_version_approve(
        actor=people["reviewer"],
        version=version,
        comment="ok",
        signature=sign(people["reviewer"], "approve", "reviewed"),
    )
    signature = Signature.objects.get()
    assert (signature.signer, signature.signer_name, signature.meaning, signature.method) == (
        people["reviewer"],
        "Rita Reviewer (reviewer)",
        "reviewed",
        "password",
    )
    assert (signature.content_sha256, signature.version_number, signature.sop_slug) == (
        version.content_sha256,
        version.number,
        "billing/refund_policy",
    )
    assert signature.manifestation().startswith("Rita Reviewer (reviewer) — Reviewed — ")
    event = AuditEvent.objects.get(action="version.approve")
    assert event.data["signature"]["id"] == signature.pk


def test_sign__wrong_password__refused_audited_and_counted_down(sop: SOP, people: dict[str, Any]) -> None:
    with pytest.raises(SignatureRefused) as refused:
        signature_verify(signer=people["reviewer"], password="guess", action="approve")
    assert refused.value.extra == {"attempts_left": 4}
    assert "nothing was signed. 4 attempts left" in refused.value.message
    event = AuditEvent.objects.get(action="signature.refused")
    assert (event.actor, event.data) == (people["reviewer"], {"action": "approve", "meaning": "approved"})
    assert not Signature.objects.exists()


def test_sign__five_wrong_passwords__locked_even_with_the_right_one_until_the_window_passes(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        with pytest.raises(SignatureRefused):
            signature_verify(signer=people["release"], password="guess", action="publish")
    with pytest.raises(SigningLocked, match="locked for 15 minutes"):
        signature_verify(signer=people["release"], password="guess", action="publish")
    assert AuditEvent.objects.filter(action="signature.locked", actor=people["release"]).count() == 1
    with pytest.raises(SigningLocked) as locked:
        signature_verify(signer=people["release"], password="pw", action="publish")
    assert 0 < locked.value.extra["retry_after"] <= 15 * 60 + 1
    later = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert signature_verify(signer=people["release"], password="pw", action="publish").meaning == "released"


def test_sign__success_resets_the_count(sop: SOP, people: dict[str, Any]) -> None:
    for _ in range(4):
        with pytest.raises(SignatureRefused):
            signature_verify(signer=people["reviewer"], password="guess", action="approve")
    services.sop_version_approve(
        actor=people["reviewer"], version=_in_review(sop, people), signature=sign(people["reviewer"], "approve")
    )
    with pytest.raises(SignatureRefused) as refused:
        signature_verify(signer=people["reviewer"], password="guess", action="approve")
    assert refused.value.extra == {"attempts_left": 4}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"password": ""}, "needs your password"), ({"meaning": "released"}, "means one of: approved, reviewed")],
)
def test_sign__missing_password_or_wrong_meaning__invalid_input(
    people: dict[str, Any], kwargs: dict, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        signature_verify(signer=people["reviewer"], **{"password": "pw", "action": "approve", **kwargs})


def test_service__unsigned_foreign_stale_or_mismatched_signature__refused_nothing_changed(
    sop: SOP, people: dict[str, Any], settings: Any
) -> None:
    version = _in_review(sop, people)
    with pytest.raises(InvalidInput, match="needs your e-signature"):
        services.sop_version_approve(actor=people["reviewer"], version=version)
    with pytest.raises(PermissionDenied, match="only be given by the person acting"):
        services.sop_version_approve(
            actor=people["reviewer"], version=version, signature=sign(people["reviewer2"], "approve")
        )
    with pytest.raises(InvalidInput, match="given for 'reject'"):
        services.sop_version_approve(
            actor=people["reviewer"], version=version, signature=sign(people["reviewer"], "reject")
        )
    stale = replace(sign(people["reviewer"], "approve"), verified_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="expired"):
        services.sop_version_approve(actor=people["reviewer"], version=version, signature=stale)
    version.refresh_from_db()
    assert version.status == "in_review" and not Signature.objects.exists()


def test_signature__update_or_delete__refused_by_the_database(sop: SOP, people: dict[str, Any]) -> None:
    services.sop_version_approve(
        actor=people["reviewer"], version=_in_review(sop, people), signature=sign(people["reviewer"], "approve")
    )
    signature = Signature.objects.get()
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(meaning="rejected")
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).delete()


def test_api__wrong_password_403_then_locked_429_missing_400(sop: SOP, people: dict[str, Any]) -> None:
    version = _in_review(sop, people)
    client: APIClient = client_for(people["reviewer"])
    url = f"/api/v1/versions/{version.pk}/approve/"
    missing = client.post(url, {"comment": "ok"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()["fields"]
    wrong = client.post(url, {"password": "guess"}, format="json")
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "signature_refused", "detail": wrong.json()["detail"], "attempts_left": 4}
    for _ in range(4):
        client.post(url, {"password": "guess"}, format="json")
    locked = client.post(url, {"password": "pw"}, format="json")
    assert locked.status_code == 429 and locked.json()["error"] == "signing_locked"
    version.refresh_from_db()
    assert version.status == "in_review"
    bad_meaning = client_for(people["reviewer2"]).post(url, {"password": "pw", "meaning": "retired"}, format="json")
    assert bad_meaning.status_code == 400 and "meaning" in bad_meaning.json()["fields"]


def test_import__signatures_recorded_as_attested_imports(people: dict[str, Any]) -> None:
    from apps.releases.importing import library_import

    library_import(
        rows=[
            (
                1,
                {
                    "category": "billing",
                    "key": "refunds",
                    "title": "Refunds",
                    "summary": "Refunds.",
                    "content": "## Steps\n1. Refund.",
                    "example_questions": ["refund?"],
                },
            )
        ],
        author=people["author"],
        publish=True,
        approvers=[people["reviewer"]],
        publisher=people["release"],
        attested_by="admin (import_sops)",
    )
    rows = list(Signature.objects.values_list("signer__username", "meaning", "method", "attested_by"))
    assert rows == [
        ("reviewer", "approved", "import", "admin (import_sops)"),
        ("release", "released", "import", "admin (import_sops)"),
    ]


@pytest.mark.django_db(transaction=True)
def test_sign__parallel_wrong_passwords__at_most_the_limit_checked_then_the_right_one_locked(
    people: dict[str, Any],
) -> None:
    """20 simultaneous tries (the right password last): each waits for the one before
    it to be counted, so only ``SOPGOV_SIGNING_MAX_FAILURES`` passwords are ever checked (20
    threads, 20 database connections: more could exhaust the server's connection slots)."""
    import threading

    from django.db import connection

    signer = people["release"]
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def attempt(password: str) -> None:
        try:
            start.wait()
            signature_verify(signer=signer, password=password, action="publish")
            outcomes.append("signed")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    # one right password: two could both (rightly) sign before the fifth wrong one locks signing
    threads = [threading.Thread(target=attempt, args=("guess" if i < 19 else "pw",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert AuditEvent.objects.filter(action="signature.refused", actor=signer).count() == 5
    assert AuditEvent.objects.filter(action="signature.locked", actor=signer).count() == 1
    assert outcomes.count("signed") <= 1  # the right password may only win before the lock
    assert outcomes.count("SignatureRefused") == 4 and len(outcomes) == 20, outcomes
