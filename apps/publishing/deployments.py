"""Deploying the bridge to AgentCore Runtime, and moving runtime endpoints, as resumable jobs.

``deployment_start`` records the request and returns at once; a worker runs
``deployment_run``, which goes through the steps below, saving after each one the step reached,
the progress and a log line. A worker that dies mid-way leaves the deployment with a stale
heartbeat; the next delivery of the task, or the periodic ``resume_stale`` sweep, continues
from the saved step. AWS creates or updates the runtime once per deployment however often a
call is repeated (``clientToken``). Retryable AWS errors (throttling, conflicts) are retried
with backoff by the task; others end the deployment ``failed`` with the AWS error, having
changed nothing in the ledger but the deployment itself.

Deploy steps: ``validate`` → ``bundle`` (publish the current bundle to the target, so the new
runtime has content) → ``runtime`` (create, or update: a new immutable runtime version) →
``wait`` (poll ``GetAgentRuntime`` until READY or *_FAILED; there is no waiter) → ``arn``
(write the runtime ARN to SSM) → ``done``.
Endpoint steps: ``validate`` → ``endpoint`` → ``wait_endpoint`` → ``done``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput, PermissionDenied
from apps.core.tasks import enqueue_on_commit

from . import agentcore
from .models import (
    Deployment,
    DeploymentAction,
    DeploymentStatus,
    Publication,
    PublicationCause,
    PublicationTarget,
    TargetKind,
)
from .permissions import can_deploy

logger = logging.getLogger(__name__)
DEPLOY_STEPS = ["validate", "bundle", "runtime", "wait", "arn", "done"]
ENDPOINT_STEPS = ["validate", "endpoint", "wait_endpoint", "done"]
PROGRESS = {
    "validate": 5,
    "bundle": 20,
    "runtime": 35,
    "wait": 40,
    "arn": 90,
    "endpoint": 40,
    "wait_endpoint": 50,
    "done": 100,
}


def _stale_after() -> timedelta:
    """A running deployment whose heartbeat is older than this lost its worker."""
    return timedelta(seconds=settings.SOPGOV_DEPLOYMENT_STALE_SECONDS)


class DeploymentFailed(Exception):
    """A step cannot succeed (bad settings, AWS refused, the runtime failed); ends the deployment."""


@transaction.atomic
def deployment_start(
    *,
    actor: Any,
    target: PublicationTarget,
    action: DeploymentAction = DeploymentAction.DEPLOY,
    parameters: dict[str, Any] | None = None,
    reason: str = "",
) -> Deployment:
    """Record a deployment and have a worker run it after commit; return it (``pending``).

    Raises:
        PermissionDenied: ``actor`` may not deploy.
        InvalidInput: the target is not an AgentCore target, or a move lacks endpoint/version.
        Conflict: a deployment of this target is already pending or running.
    """
    if actor is not None and not can_deploy(actor):
        raise PermissionDenied("Only release managers can deploy to AgentCore.")
    if target.kind != TargetKind.AGENTCORE:
        raise InvalidInput(f"{target.name} is not an AgentCore target.")
    parameters = parameters or {}
    if action == DeploymentAction.MOVE_ENDPOINT:
        if not parameters.get("endpoint") or not str(parameters.get("version", "")).strip():
            raise InvalidInput(
                "Moving an endpoint needs an endpoint name and a runtime version.",
                field_errors={"endpoint": ["Required."], "version": ["Required."]},
            )
        if not target.runtime_id:
            raise InvalidInput(f"{target.name} has no runtime yet; deploy it first.")
    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                target=target,
                action=action,
                parameters=parameters,
                client_token=uuid.uuid4(),
                requested_by=actor,
                reason=reason,
            )
    except IntegrityError as exc:
        raise Conflict(f"A deployment of {target.name} is already in progress; wait for it to finish.") from exc
    audit_record(
        actor=actor,
        action=AuditAction.DEPLOYMENT_START,
        target=deployment,
        after={"action": action, "target": target.name, **parameters},
        reason=reason,
    )
    from .tasks import run_deployment

    enqueue_on_commit(run_deployment, deployment.pk)
    return deployment


def _claim(deployment_id: int) -> Deployment | None:
    """Take the deployment for this worker unless another live worker has it; return it or None."""
    now = timezone.now()
    taken = (
        Deployment.objects.filter(pk=deployment_id)
        .filter(
            Q(status=DeploymentStatus.PENDING)
            | Q(status=DeploymentStatus.IN_PROGRESS, heartbeat_at__lt=now - _stale_after())
            | Q(status=DeploymentStatus.IN_PROGRESS, heartbeat_at__isnull=True)
        )
        .update(status=DeploymentStatus.IN_PROGRESS, heartbeat_at=now)
    )
    if not taken:
        return None
    deployment = Deployment.objects.select_related("target").get(pk=deployment_id)
    deployment.attempts += 1
    deployment.started_at = deployment.started_at or now
    deployment.save(update_fields=["attempts", "started_at"])
    return deployment


def _note(deployment: Deployment, step: str, message: str, **fields: Any) -> None:
    """Save that ``step`` is next (the one that ran is named in the log line), with a fresh
    heartbeat and progress."""
    ran = "validate" if deployment.step == "queued" else deployment.step
    for name, value in fields.items():
        setattr(deployment, name, value)
    deployment.step = step
    deployment.progress = max(deployment.progress, PROGRESS.get(step, deployment.progress))
    deployment.heartbeat_at = timezone.now()
    line = {"at": deployment.heartbeat_at.isoformat(), "step": ran, "progress": deployment.progress, "message": message}
    deployment.log = [*deployment.log, line]
    deployment.save()
    logger.info("deployment %s %s", deployment.pk, format_log_line(line))


def format_log_line(line: dict[str, Any]) -> str:
    """Return a deployment log line as operators read it: ``[ 35 %] wait: Created runtime …``."""
    return f"[{line.get('progress', 0):3d} %] {line['step']}: {line['message']}"


def _beat(deployment: Deployment, progress: int | None = None) -> None:
    deployment.heartbeat_at = timezone.now()
    fields = ["heartbeat_at"]
    if progress is not None:
        deployment.progress = max(deployment.progress, min(progress, 99))
        fields.append("progress")
    deployment.save(update_fields=fields)


def deployment_run(deployment_id: int, *, sleep: Callable[[float], None] = time.sleep) -> str:
    """Run (or resume) a deployment to its end; return its final status (or ``"not claimed"``).

    Raises:
        agentcore.AwsError: a retryable AWS error; the deployment stays resumable for the retry.
    """
    deployment = _claim(deployment_id)
    if deployment is None:
        return "not claimed"
    steps = DEPLOY_STEPS if deployment.action == DeploymentAction.DEPLOY else ENDPOINT_STEPS
    try:
        index = steps.index(deployment.step) if deployment.step in steps else 0
        for step in steps[index:]:
            if step == "done":
                break
            _STEPS[step](deployment, sleep)
        _finish(deployment, DeploymentStatus.SUCCEEDED, "done", "Deployment finished.")
    except agentcore.AwsError as exc:
        if exc.retryable:
            _note(deployment, deployment.step, f"Will retry: {exc}", error=str(exc))
            Deployment.objects.filter(pk=deployment.pk).update(heartbeat_at=None)  # free for the retry
            raise
        _finish(deployment, DeploymentStatus.FAILED, deployment.step, f"Failed: {exc}", error=str(exc))
    except DeploymentFailed as exc:
        _finish(deployment, DeploymentStatus.FAILED, deployment.step, f"Failed: {exc}", error=str(exc))
    return deployment.status


def deployment_give_up(deployment_id: int, error: str) -> None:
    """End a deployment ``failed`` when its task's retries ran out."""
    deployment = Deployment.objects.select_related("target").get(pk=deployment_id)
    if deployment.status in (DeploymentStatus.PENDING, DeploymentStatus.IN_PROGRESS):
        _finish(deployment, DeploymentStatus.FAILED, deployment.step, f"Gave up: {error}", error=error)


@transaction.atomic
def _finish(deployment: Deployment, status: DeploymentStatus, step: str, message: str, **fields: Any) -> None:
    deployment.status = status
    deployment.finished_at = timezone.now()
    if status == DeploymentStatus.SUCCEEDED:
        fields["progress"] = 100
    _note(deployment, step, message, **fields)
    audit_record(
        actor=None,
        action=AuditAction.DEPLOYMENT_FINISH,
        target=deployment,
        before={"status": DeploymentStatus.IN_PROGRESS},
        after={"status": status, "runtime_id": deployment.runtime_id, "runtime_version": deployment.runtime_version},
        reason=message,
        data={"target": deployment.target.name, "action": deployment.action, "error": deployment.error},
    )


# --- steps --------------------------------------------------------------------------------


def _validate(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    missing = agentcore.missing_settings(deployment.target, for_runtime=deployment.action == DeploymentAction.DEPLOY)
    if missing:
        raise DeploymentFailed(f"{deployment.target.name} lacks settings: {', '.join(missing)}.")
    _note(deployment, "bundle" if deployment.action == DeploymentAction.DEPLOY else "endpoint", "Settings checked.")


def _bundle(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    from .remote import publication_carry_out
    from .selectors import current_bundle

    bundle = current_bundle()
    if bundle is None:
        _note(deployment, "runtime", "Nothing published yet; the runtime will serve an empty library until then.")
        return
    publication = (
        Publication.objects.filter(
            target=deployment.target, bundle=bundle, status__in=["succeeded", "pending", "in_progress"]
        )
        .order_by("-pk")
        .first()
    )
    if publication is None or publication.status != "succeeded":
        if publication is None:
            publication = Publication.objects.create(
                bundle=bundle,
                target=deployment.target,
                cause=PublicationCause.REPUBLISH,
                actor=deployment.requested_by,
                reason=f"deployment {deployment.pk}",
                status="pending",
            )
        result = publication_carry_out(publication.pk)
        if result == "failed":
            publication.refresh_from_db()
            raise DeploymentFailed(f"Publishing the current bundle failed: {publication.error}")
    _note(deployment, "runtime", f"Bundle {bundle.sha256[:12]} is in S3 and the pointer is set.")


def _runtime(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    target = deployment.target
    c = agentcore.clients(target)
    runtime_id = deployment.runtime_id or target.runtime_id
    if not runtime_id:
        found = agentcore.find_runtime(c, target.runtime_name)
        runtime_id = found["agentRuntimeId"] if found else ""
    token = str(deployment.client_token)
    if runtime_id:
        response = agentcore.update_runtime(c, target, runtime_id, token)
        verb = "Updated"
    else:
        response = agentcore.create_runtime(c, target, token)
        verb = "Created"
    _note(
        deployment,
        "wait",
        f"{verb} runtime {response['agentRuntimeId']}; now version {response.get('agentRuntimeVersion')}.",
        runtime_id=response["agentRuntimeId"],
        runtime_arn=response["agentRuntimeArn"],
        runtime_version=str(response.get("agentRuntimeVersion", "")),
    )


def _wait(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    c = agentcore.clients(deployment.target)
    deadline = time.monotonic() + settings.SOPGOV_AGENTCORE_WAIT_SECONDS
    polls = 0
    while True:
        runtime = agentcore.get_runtime(c, deployment.runtime_id)
        status = runtime.get("status", "")
        if status == agentcore.READY:
            break
        if status in agentcore.FAILED_STATES:
            raise DeploymentFailed(f"The runtime is {status}: {runtime.get('failureReason') or 'no reason given'}.")
        if time.monotonic() > deadline:
            raise DeploymentFailed(f"The runtime was still {status} after {settings.SOPGOV_AGENTCORE_WAIT_SECONDS} s.")
        polls += 1
        _beat(deployment, 40 + min(polls * 3, 45))
        sleep(settings.SOPGOV_AGENTCORE_POLL_SECONDS)
    _note(
        deployment,
        "arn",
        f"Runtime version {runtime.get('agentRuntimeVersion')} is READY.",
        runtime_arn=runtime.get("agentRuntimeArn", deployment.runtime_arn),
        runtime_version=str(runtime.get("agentRuntimeVersion", deployment.runtime_version)),
    )


@transaction.atomic
def _arn(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    target = PublicationTarget.objects.select_for_update().get(pk=deployment.target_id)
    c = agentcore.clients(target)
    version = agentcore.write_arn_parameter(c, target, deployment.runtime_arn)
    before = {
        "runtime_id": target.runtime_id,
        "runtime_arn": target.runtime_arn,
        "runtime_version": target.runtime_version,
    }
    target.runtime_id, target.runtime_arn, target.runtime_version = (
        deployment.runtime_id,
        deployment.runtime_arn,
        deployment.runtime_version,
    )
    target.save(update_fields=["runtime_id", "runtime_arn", "runtime_version"])
    deployment.target = target
    audit_record(
        actor=deployment.requested_by,
        action=AuditAction.TARGET_RUNTIME,
        target=target,
        before=before,
        after={
            "runtime_id": target.runtime_id,
            "runtime_arn": target.runtime_arn,
            "runtime_version": target.runtime_version,
            "ssm_parameter_version": version,
        },
        reason=deployment.reason,
        data={"deployment": deployment.pk},
    )
    _note(
        deployment,
        "done",
        f"ARN written to {target.ssm_arn_parameter} (version {version}).",
        ssm_parameter_version=version,
    )


def _endpoint(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    target = deployment.target
    c = agentcore.clients(target)
    endpoint, version = deployment.parameters["endpoint"], str(deployment.parameters["version"])
    agentcore.move_endpoint(c, target.runtime_id, endpoint, version, str(deployment.client_token))
    _note(
        deployment,
        "wait_endpoint",
        f"Endpoint {endpoint} moving to version {version}.",
        runtime_id=target.runtime_id,
        runtime_arn=target.runtime_arn,
        runtime_version=version,
    )


def _wait_endpoint(deployment: Deployment, sleep: Callable[[float], None]) -> None:
    c = agentcore.clients(deployment.target)
    endpoint = deployment.parameters["endpoint"]
    deadline = time.monotonic() + settings.SOPGOV_AGENTCORE_WAIT_SECONDS
    while True:
        described = agentcore.get_endpoint(c, deployment.runtime_id, endpoint)
        status = described.get("status", "")
        if status == agentcore.READY:
            break
        if status in agentcore.FAILED_STATES:
            raise DeploymentFailed(
                f"Endpoint {endpoint} is {status}: {described.get('failureReason') or 'no reason given'}."
            )
        if time.monotonic() > deadline:
            raise DeploymentFailed(
                f"Endpoint {endpoint} was still {status} after {settings.SOPGOV_AGENTCORE_WAIT_SECONDS} s."
            )
        _beat(deployment, 60)
        sleep(settings.SOPGOV_AGENTCORE_POLL_SECONDS)
    _note(deployment, "done", f"Endpoint {endpoint} serves version {described.get('liveVersion')}.")


_STEPS: dict[str, Callable[[Deployment, Callable[[float], None]], None]] = {
    "validate": _validate,
    "bundle": _bundle,
    "runtime": _runtime,
    "wait": _wait,
    "arn": _arn,
    "endpoint": _endpoint,
    "wait_endpoint": _wait_endpoint,
}


def stale_deployment_ids() -> list[int]:
    """Return deployments whose worker stopped reporting (pending for long, or no heartbeat)."""
    before = timezone.now() - _stale_after()
    return list(
        Deployment.objects.filter(
            Q(status=DeploymentStatus.PENDING, created_at__lt=before)
            | Q(status=DeploymentStatus.IN_PROGRESS, heartbeat_at__lt=before)
            | Q(status=DeploymentStatus.IN_PROGRESS, heartbeat_at__isnull=True)
        ).values_list("pk", flat=True)
    )
