"""The audit trail is append-only and hash-chained: the database refuses changes, and any
change made behind its back (trigger disabled) is found by ``verify_audit``."""

from __future__ import annotations

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from apps.audit.chain import GENESIS_HASH, HASHED_FIELDS, event_hash
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.services import audit_seal
from apps.audit.verification import audit_chain_walk
from apps.releases import services as releases
from apps.sops import services
from apps.sops.models import SOP
from tests.factories import CategoryFactory


def _events(sop: SOP, people: dict[str, Any], n: int = 5) -> None:
    for i in range(n):
        services.sop_update(actor=people["author"], sop=sop, title=f"Refunds, take {i}", owner=people["author"])
    audit_seal()


def test_seal__events_linked_in_order__head_at_the_last(sop: SOP, people: dict[str, Any]) -> None:
    _events(sop, people)
    rows = list(AuditEvent.objects.order_by("seq").values("seq", "prev_hash", "hash", *HASHED_FIELDS))
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    previous = GENESIS_HASH
    for row in rows:
        assert row["prev_hash"] == previous and row["hash"] == event_hash(row, row["seq"], previous)
        previous = row["hash"]
    head = AuditChainHead.objects.get()
    assert (head.seq, head.hash) == (len(rows), previous)
    report = audit_chain_walk()
    assert report.intact and report.checked == len(rows) and report.first_break is None


def test_trigger__update_or_delete__refused_by_the_database(sop: SOP, people: dict[str, Any]) -> None:
    _events(sop, people, 1)
    event = AuditEvent.objects.latest("id")
    with pytest.raises(IntegrityError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(IntegrityError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(IntegrityError, match="append-only: UPDATE"), transaction.atomic():  # nor re-seal
        AuditEvent.objects.filter(pk=event.pk).update(hash="0" * 64)
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


def test_verify__edited_event__first_broken_link_is_that_event(
    sop: SOP, people: dict[str, Any], unguarded: Any
) -> None:
    _events(sop, people)
    target = AuditEvent.objects.get(seq=3)
    unguarded("UPDATE audit_auditevent SET reason = %s WHERE id = %s", ["nothing happened", target.pk])
    report = audit_chain_walk()
    assert not report.intact and report.checked == 2
    assert report.first_break == {
        "seq": 3,
        "event_id": target.pk,
        "problem": "its content was changed after it was sealed",
    }


def test_verify__edited_and_rehashed__caught_at_the_next_link(sop: SOP, people: dict[str, Any], unguarded: Any) -> None:
    _events(sop, people)
    row = AuditEvent.objects.filter(seq=2).values(*HASHED_FIELDS, "prev_hash").get()
    row["after"] = {"title": "forged"}
    unguarded(
        "UPDATE audit_auditevent SET after = %s::jsonb, hash = %s WHERE seq = 2",
        ['{"title": "forged"}', event_hash(row, 2, row["prev_hash"])],
    )
    report = audit_chain_walk()
    assert report.first_break is not None and report.first_break["seq"] == 3
    assert "link to the previous event does not match" in report.first_break["problem"]


def test_verify__deleted_from_the_middle_and_the_end__both_found(
    sop: SOP, people: dict[str, Any], unguarded: Any
) -> None:
    _events(sop, people)
    last = AuditChainHead.objects.get().seq
    unguarded("DELETE FROM audit_auditevent WHERE seq = %s", [last])
    report = audit_chain_walk()
    assert report.first_break is not None and "head records" in report.first_break["problem"]
    unguarded("DELETE FROM audit_auditevent WHERE seq = 2")
    report = audit_chain_walk()
    assert report.first_break == {"seq": 2, "event_id": None, "problem": "events 2–2 are missing (deleted?)"}


def test_verify__chain_rewritten_wholesale__only_an_anchor_catches_it(
    sop: SOP, people: dict[str, Any], unguarded: Any
) -> None:
    _events(sop, people)
    anchor_row = AuditEvent.objects.get(seq=4)
    anchor = (4, anchor_row.hash)
    # Rewrite event 1 and re-seal everything after it, head included: internally consistent.
    unguarded("UPDATE audit_auditevent SET reason = 'rewritten' WHERE seq = 1")
    prev = GENESIS_HASH
    for row in AuditEvent.objects.order_by("seq").values("seq", *HASHED_FIELDS):
        digest = event_hash(row, row["seq"], prev)
        unguarded("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev, digest, row["id"]])
        prev = digest
    AuditChainHead.objects.filter(pk=1).update(hash=prev)
    assert audit_chain_walk().intact
    report = audit_chain_walk(anchor=anchor)
    assert report.first_break is not None and report.first_break["seq"] == 4
    assert "does not match the anchor" in report.first_break["problem"]


def test_verify_audit_command__intact_then_broken__exit_status(
    sop: SOP, people: dict[str, Any], unguarded: Any
) -> None:
    _events(sop, people)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    head = AuditChainHead.objects.get()
    assert f"intact; head {head.seq}:{head.hash}" in out.getvalue()
    call_command("verify_audit", "--anchor", f"{head.seq}:{head.hash}", stdout=StringIO())
    unguarded("UPDATE audit_auditevent SET actor_label = 'someone else' WHERE seq = 1")
    with pytest.raises(CommandError, match=r"BROKEN at seq 1 \(event \d+\): its content was changed"):
        call_command("verify_audit", stdout=StringIO())
    with pytest.raises(CommandError, match="SEQ:HASH"):
        call_command("verify_audit", "--anchor", "nonsense", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_seal__concurrent_publishes_and_edits__no_deadlock_chain_intact(people: dict[str, Any]) -> None:
    """Publishes lock the bundle head and audit before and after it: sealing after commit keeps
    the audit chain out of that lock order, so concurrent writers neither deadlock nor fork it."""
    from tests.conftest import advance, draft, sign
    from tests.factories import SOPFactory

    category = CategoryFactory(slug="concurrency")
    sops = [SOPFactory(category=category, key=f"sop_{i}", owner=people["author"]) for i in range(6)]
    versions = [advance(draft(s, people["author"]), people, "approved") for s in sops]
    errors: list[BaseException] = []

    def publish(version: Any) -> None:
        try:
            releases.release_publish(
                actor=people["release"],
                signature=sign(people["release"], "publish"),
                version=version,
                reason="parallel",
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    audit_seal()
    report = audit_chain_walk()
    assert report.intact and report.checked == AuditEvent.objects.count()
