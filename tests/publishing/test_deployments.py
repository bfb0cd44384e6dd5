"""Deploying the bridge to AgentCore Runtime (moto): first deploy, update, endpoint moves,
failures of the runtime itself, and a deployment resumed after its worker died."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict, InvalidInput, PermissionDenied
from apps.publishing.deployments import deployment_run, deployment_start, stale_deployment_ids
from apps.publishing.models import Deployment, DeploymentAction, PublicationTarget
from apps.publishing.selectors import current_bundle
from apps.sops.models import SOP
from tests.conftest import advance, draft
from tests.publishing.conftest import ARN_PARAMETER, BUNDLE_PARAMETER, finish_updates, runtimes, ssm_value

pytestmark = pytest.mark.usefixtures("aws")


def _deploy(target: PublicationTarget, actor: Any, capture: Any, **kwargs: Any) -> Deployment:
    with capture(execute=False):  # run it here, not through the eager task
        deployment = deployment_start(actor=actor, target=target, **kwargs)
    assert deployment_run(deployment.pk, sleep=finish_updates) in ("succeeded", "failed")
    deployment.refresh_from_db()
    return deployment


def test_deploy__first_time__runtime_created_ready_arn_in_ssm(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")

    deployment = _deploy(target, people["release"], django_capture_on_commit_callbacks, reason="first deploy")

    assert (deployment.status, deployment.progress, deployment.step) == ("succeeded", 100, "done")
    [runtime] = runtimes().values()
    target.refresh_from_db()
    assert (target.runtime_id, target.runtime_arn, target.runtime_version) == (
        runtime.agent_runtime_id,
        runtime.agent_runtime_arn,
        "1",
    )
    assert runtime.agent_runtime_name == "sopgov_bridge_test"
    assert runtime.protocol_configuration == {"serverProtocol": "MCP"}
    assert runtime.network_configuration == {"networkMode": "PUBLIC"}
    assert runtime.agent_runtime_artifact["containerConfiguration"]["containerUri"] == target.container_image_uri
    assert runtime.environment_variables["SOPGOV_BUNDLE_SOURCE"] == "ssm"
    assert runtime.environment_variables["SOPGOV_BUNDLE_SSM_PARAMETER"] == BUNDLE_PARAMETER
    assert runtime.environment_variables["SOPGOV_BRIDGE_AUTH"] == "none"
    assert ssm_value(ARN_PARAMETER) == (runtime.agent_runtime_arn, 1)
    assert deployment.ssm_parameter_version == 1
    pointer, _ = ssm_value(BUNDLE_PARAMETER)
    assert json.loads(pointer)["sha256"] == current_bundle().sha256  # type: ignore[union-attr]
    steps = [line["step"] for line in deployment.log]
    assert steps == ["validate", "bundle", "runtime", "wait", "arn", "done"]
    actions = list(
        AuditEvent.objects.filter(target_type__in=["deployment", "publicationtarget"])
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert actions == [
        ("target.change", "admin"),
        ("deployment.start", "release"),
        ("target.runtime", "release"),
        ("deployment.finish", "system"),
    ]


def test_deploy__again__update_makes_a_new_version_arn_rewritten(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _deploy(target, people["release"], django_capture_on_commit_callbacks)
    target.refresh_from_db()
    first_id = target.runtime_id
    PublicationTarget.objects.filter(pk=target.pk).update(container_image_uri=target.container_image_uri + "-next")

    deployment = _deploy(target, people["release"], django_capture_on_commit_callbacks, reason="bridge 0.3.1")

    target.refresh_from_db()
    assert deployment.status == "succeeded"
    assert len(runtimes()) == 1 and target.runtime_id == first_id
    assert target.runtime_version == "2" and runtimes()[first_id].agent_runtime_version == "2"
    assert runtimes()[first_id].agent_runtime_artifact["containerConfiguration"]["containerUri"].endswith("-next")
    assert ssm_value(ARN_PARAMETER) == (target.runtime_arn, 2)
    assert any("Updated runtime" in line["message"] for line in deployment.log)


def test_deploy__runtime_exists_in_aws_but_not_recorded__adopted_not_duplicated(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _deploy(target, people["release"], django_capture_on_commit_callbacks)
    PublicationTarget.objects.filter(pk=target.pk).update(runtime_id="", runtime_arn="", runtime_version="")
    target.refresh_from_db()

    deployment = _deploy(target, people["release"], django_capture_on_commit_callbacks)

    assert deployment.status == "succeeded" and len(runtimes()) == 1
    assert deployment.runtime_version == "2"


def test_deploy__runtime_update_fails__deployment_failed_with_the_reason_target_unchanged(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    _deploy(target, people["release"], django_capture_on_commit_callbacks)
    target.refresh_from_db()
    before = (target.runtime_id, target.runtime_arn, target.runtime_version)

    def fail(_seconds: float) -> None:
        for runtime in runtimes().values():
            runtime.status = "UPDATE_FAILED"
            runtime.failure_reason = "Image not found: sopgov-bridge:0.3.0"

    with django_capture_on_commit_callbacks(execute=False):
        deployment = deployment_start(actor=people["release"], target=target)
    assert deployment_run(deployment.pk, sleep=fail) == "failed"

    deployment.refresh_from_db()
    target.refresh_from_db()
    assert deployment.error.startswith("The runtime is UPDATE_FAILED")
    assert deployment.step == "wait" and deployment.progress < 100
    assert (target.runtime_id, target.runtime_arn, target.runtime_version) == before
    assert ssm_value(ARN_PARAMETER)[1] == 1  # the ARN was not moved to the failed version
    finish = AuditEvent.objects.filter(action="deployment.finish").order_by("-id").first()
    assert finish is not None and finish.after["status"] == "failed"


def test_deploy__worker_died_mid_wait__next_worker_resumes_from_the_saved_step(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    _deploy(target, people["release"], django_capture_on_commit_callbacks)

    class WorkerKilled(BaseException):
        """Stands for SIGKILL: nothing in the deployment code may catch it."""

    def die(_seconds: float) -> None:
        raise WorkerKilled

    with django_capture_on_commit_callbacks(execute=False):
        deployment = deployment_start(actor=people["release"], target=target, reason="upgrade")
    with pytest.raises(WorkerKilled):
        deployment_run(deployment.pk, sleep=die)
    deployment.refresh_from_db()
    assert (deployment.status, deployment.step) == ("in_progress", "wait")
    assert deployment_run(deployment.pk, sleep=finish_updates) == "not claimed"  # its heartbeat is fresh
    assert stale_deployment_ids() == []

    settings.SOPGOV_DEPLOYMENT_STALE_SECONDS = 0  # time passes; the heartbeat goes stale
    assert stale_deployment_ids() == [deployment.pk]
    assert deployment_run(deployment.pk, sleep=finish_updates) == "succeeded"

    deployment.refresh_from_db()
    assert deployment.attempts == 2 and deployment.runtime_version == "2"
    [runtime] = runtimes().values()
    assert runtime.agent_runtime_version == "2"  # updated once, not twice
    assert AuditEvent.objects.filter(action="deployment.finish", target_id=str(deployment.pk)).count() == 1
    assert AuditEvent.objects.filter(action="target.runtime").count() == 2  # first deploy + this one


def test_move_endpoint__new_then_moved__endpoint_serves_the_version(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from apps.publishing import agentcore

    _deploy(target, people["release"], django_capture_on_commit_callbacks)
    _deploy(target, people["release"], django_capture_on_commit_callbacks)  # version 2
    target.refresh_from_db()

    def endpoints_ready(_seconds: float) -> None:
        from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

        for endpoint in bedrockagentcorecontrol_backends["123456789012"]["us-west-2"].agent_runtime_endpoints.values():
            endpoint.status = "READY"

    for version in ("1", "2"):
        with django_capture_on_commit_callbacks(execute=False):
            deployment = deployment_start(
                actor=people["release"],
                target=target,
                action=DeploymentAction.MOVE_ENDPOINT,
                parameters={"endpoint": "production", "version": version},
                reason="pin",
            )
        assert deployment_run(deployment.pk, sleep=endpoints_ready) == "succeeded"
        described = agentcore.get_endpoint(agentcore.clients(target), target.runtime_id, "production")
        assert described["targetVersion"] == version


def test_deployment_start__refusals__clear_errors(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from apps.publishing.services import local_target

    with pytest.raises(PermissionDenied):
        deployment_start(actor=people["auditor"], target=target)
    with pytest.raises(InvalidInput, match="not an AgentCore target"):
        deployment_start(actor=people["release"], target=local_target())
    with pytest.raises(InvalidInput, match="no runtime yet"):
        deployment_start(
            actor=people["release"],
            target=target,
            action=DeploymentAction.MOVE_ENDPOINT,
            parameters={"endpoint": "production", "version": "1"},
        )
    with django_capture_on_commit_callbacks(execute=False):
        deployment_start(actor=people["release"], target=target)
    with pytest.raises(Conflict, match="already in progress"):
        deployment_start(actor=people["release"], target=target)
    assert Deployment.objects.count() == 1


def test_deploy__target_lacks_settings__failed_naming_them(
    target: PublicationTarget, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    PublicationTarget.objects.filter(pk=target.pk).update(execution_role_arn="", container_image_uri="")
    target.refresh_from_db()
    deployment = _deploy(target, people["release"], django_capture_on_commit_callbacks)
    assert deployment.status == "failed"
    assert deployment.error == "agentcore-test lacks settings: container_image_uri, execution_role_arn."
    assert runtimes() == {}
