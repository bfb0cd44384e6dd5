"""Every bundle change is published to each AgentCore target: the bundle goes to S3 under its
hash and the SSM pointer moves; the ledger records versions and never goes backwards."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from apps.audit.models import AuditEvent
from apps.publishing import agentcore
from apps.publishing.models import Publication, PublicationStatus, PublicationTarget
from apps.publishing.remote import publication_carry_out, stale_publication_ids
from apps.publishing.selectors import current_bundle
from apps.publishing.services import target_republish
from apps.sops.models import SOP
from tests.conftest import advance, draft
from tests.publishing.conftest import BUCKET, BUNDLE_PARAMETER, REGION, ssm_value

pytestmark = pytest.mark.usefixtures("aws")


def _publish(sop: SOP, people: dict[str, Any], capture: Any, content: str = "## Steps\n1. Refund.") -> None:
    with capture(execute=True):
        advance(draft(sop, people["author"], content=content), people, "live")


def test_publish__agentcore_target__bundle_in_s3_and_pointer_moved(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _publish(sop, people, django_capture_on_commit_callbacks)

    bundle = current_bundle()
    assert bundle is not None
    local = Publication.objects.get(target__name="local")
    remote = Publication.objects.get(target=target)
    assert (local.status, remote.status) == ("succeeded", "succeeded")
    assert remote.bundle == bundle and remote.actor == people["release"] and remote.cause == "publish"
    assert remote.s3_key == f"sopgov/bundles/{bundle.sha256}.json"
    obj = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=remote.s3_key)
    assert obj["Body"].read().decode() == bundle.payload
    assert obj["VersionId"] == remote.s3_version_id and remote.s3_version_id
    assert obj["Metadata"]["sha256"] == bundle.sha256
    value, version = ssm_value(BUNDLE_PARAMETER)
    assert json.loads(value) == {
        "bucket": BUCKET,
        "key": remote.s3_key,
        "version_id": remote.s3_version_id,
        "sha256": bundle.sha256,
    }
    assert remote.ssm_parameter_version == version == 1
    assert remote.started_at and remote.finished_at and remote.attempts == 1 and remote.error == ""
    event = AuditEvent.objects.get(action="bundle.publish")
    assert event.data["targets"] == {"local": local.pk, target.name: remote.pk}
    # the target's outcome is audited too: what the pointer now serves, by the system's worker
    finished = AuditEvent.objects.get(action="publication.finish", target_id=str(remote.pk))
    assert (finished.actor_label, finished.before, finished.after) == (
        "system",
        {"status": "in_progress"},
        {"status": "succeeded"},
    )
    assert finished.data["ssm_parameter_version"] == 1 and finished.data["s3_version_id"] == remote.s3_version_id
    assert (finished.data["target"], finished.data["bundle_sha256"]) == (target.name, bundle.sha256)


def test_publish__every_bundle_change__one_publication_per_target_pointer_follows(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _publish(sop, people, django_capture_on_commit_callbacks, "## Steps\n1. First.")
    _publish(sop, people, django_capture_on_commit_callbacks, "## Steps\n1. Second.")  # a rollout: several changes

    local = list(Publication.objects.filter(target__name="local").order_by("pk").values_list("bundle", "cause"))
    remote = list(Publication.objects.filter(target=target).order_by("pk").values_list("bundle", "cause"))
    assert len(local) == 3 and remote == local
    # The rollout's start and completion were queued together: the start found the completion
    # queued after it and stood aside rather than moving the pointer twice.
    rows = list(Publication.objects.filter(target=target).order_by("pk").values_list("status", "ssm_parameter_version"))
    assert rows == [("succeeded", 1), ("superseded", None), ("succeeded", 2)]
    value, version = ssm_value(BUNDLE_PARAMETER)
    assert json.loads(value)["sha256"] == current_bundle().sha256 and version == 2  # type: ignore[union-attr]


def test_republish__same_bundle__object_reused_pointer_version_bumped(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _publish(sop, people, django_capture_on_commit_callbacks)
    first = Publication.objects.get(target=target)
    with django_capture_on_commit_callbacks(execute=True):
        again = target_republish(actor=people["release"], target=target, reason="repair drift")

    again.refresh_from_db()
    assert (again.status, again.cause, again.reason) == ("succeeded", "republish", "repair drift")
    assert (again.s3_key, again.s3_version_id) == (first.s3_key, first.s3_version_id)
    versions = boto3.client("s3", region_name=REGION).list_object_versions(Bucket=BUCKET, Prefix=first.s3_key)
    assert len(versions["Versions"]) == 1
    assert again.ssm_parameter_version == 2


def test_publications__older_runs_after_newer__superseded_pointer_never_moves_back(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # no worker yet: both stay pending
        advance(draft(sop, people["author"], content="## Steps\n1. Old."), people, "live")
        advance(draft(sop, people["author"], content="## Steps\n1. New."), people, "live")
    pending = list(Publication.objects.filter(target=target).order_by("pk"))
    assert len(pending) >= 2 and {p.status for p in pending} == {"pending"}
    newest, older = pending[-1], pending[0]

    assert publication_carry_out(newest.pk) == "succeeded"
    assert publication_carry_out(older.pk) == "superseded"

    older.refresh_from_db()
    assert older.finished_at is not None and older.ssm_parameter_version is None
    value, _ = ssm_value(BUNDLE_PARAMETER)
    assert json.loads(value)["sha256"] == newest.bundle.sha256 == current_bundle().sha256  # type: ignore[union-attr]
    assert publication_carry_out(newest.pk) == "not claimed"  # re-delivered: done once only


def test_publication__older_pending_while_newer_pending__older_superseded(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        advance(draft(sop, people["author"], content="## Steps\n1. Old."), people, "live")
        advance(draft(sop, people["author"], content="## Steps\n1. New."), people, "live")
    older = Publication.objects.filter(target=target).order_by("pk").first()
    assert older is not None
    assert publication_carry_out(older.pk) == "superseded"
    assert agentcore.read_parameter(agentcore.clients(target), BUNDLE_PARAMETER) is None


def test_publication__target_lacks_settings__failed_with_the_names(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    PublicationTarget.objects.filter(pk=target.pk).update(s3_bucket="")
    _publish(sop, people, django_capture_on_commit_callbacks)
    remote = Publication.objects.get(target=target)
    assert remote.status == PublicationStatus.FAILED
    assert remote.error == "The target lacks settings: s3_bucket."
    finished = AuditEvent.objects.get(action="publication.finish", target_id=str(remote.pk))
    assert (finished.after, finished.reason) == ({"status": "failed"}, "The target lacks settings: s3_bucket.")


def test_publication__disabled_target__not_published(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    PublicationTarget.objects.filter(pk=target.pk).update(enabled=False)
    _publish(sop, people, django_capture_on_commit_callbacks)
    assert not Publication.objects.filter(target=target).exists()
    assert Publication.objects.filter(target__name="local").count() == 1


def test_stale_publications__pending_too_long__listed_for_resumption(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the worker never got it
        advance(draft(sop, people["author"]), people, "live")
    publication = Publication.objects.get(target=target)
    assert stale_publication_ids() == []
    settings.SOPGOV_PUBLICATION_STALE_SECONDS = 0
    assert stale_publication_ids() == [publication.pk]
    assert publication_carry_out(publication.pk) == "succeeded"
    assert stale_publication_ids() == []
