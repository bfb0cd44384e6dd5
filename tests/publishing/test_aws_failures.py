"""AWS refusing or asking to retry, played with botocore's Stubber: refusals end the
deployment or publication ``failed`` with the AWS error; throttling and conflicts are retried
with backoff and then succeed; the ledger never holds a half record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from apps.audit.models import AuditEvent
from apps.publishing import agentcore
from apps.publishing.models import Deployment, Publication, PublicationTarget
from apps.publishing.tasks import run_deployment
from apps.sops.models import SOP
from tests.conftest import advance, draft
from tests.publishing.conftest import ARN_PARAMETER, REGION

pytestmark = pytest.mark.usefixtures("aws")
NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
RUNTIME_ID = "sopgov_bridge_test-AbCdE12345"
RUNTIME_ARN = f"arn:aws:bedrock-agentcore:{REGION}:123456789012:runtime/{RUNTIME_ID}"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Stubber]]:
    """AgentCore control and SSM clients whose answers the test queues (S3 stays moto); every
    queued answer must be used."""
    control = boto3.client("bedrock-agentcore-control", region_name=REGION)
    ssm = boto3.client("ssm", region_name=REGION)
    stubs = {"control": Stubber(control), "ssm": Stubber(ssm)}
    shared = agentcore.Clients(control=control, s3=boto3.client("s3", region_name=REGION), ssm=ssm)
    monkeypatch.setattr(agentcore, "clients", lambda target: shared)
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _runtime(status: str, version: str = "1", updated: bool = True) -> dict[str, Any]:
    """A CreateAgentRuntime (``updated=False``) or UpdateAgentRuntime response."""
    response = {
        "agentRuntimeArn": RUNTIME_ARN,
        "agentRuntimeId": RUNTIME_ID,
        "agentRuntimeVersion": version,
        "createdAt": NOW,
        "status": status,
    }
    return {**response, "lastUpdatedAt": NOW} if updated else response


def _described(status: str, version: str = "1") -> dict[str, Any]:
    return {
        **_runtime(status, version),
        "agentRuntimeName": "sopgov_bridge_test",
        "roleArn": "arn:aws:iam::123456789012:role/sopgov-agentcore",
        "lifecycleConfiguration": {},
    }


def _start(target: PublicationTarget, people: dict[str, Any], capture: Any) -> Deployment:
    from apps.publishing.deployments import deployment_start

    with capture(execute=False):
        return deployment_start(actor=people["release"], target=target)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "ValidationException",
            "1 validation error detected: Value at 'agentRuntimeArtifact' failed to satisfy constraint",
        ),
        (
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
            "bedrock-agentcore:CreateAgentRuntime",
        ),
    ],
)
def test_deploy__aws_refuses_create__failed_with_the_aws_error_nothing_recorded_on_target(
    code: str,
    message: str,
    target: PublicationTarget,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stubbed["control"].add_response("list_agent_runtimes", {"agentRuntimes": []})
    stubbed["control"].add_client_error("create_agent_runtime", code, message, http_status_code=400)
    deployment = _start(target, people, django_capture_on_commit_callbacks)

    assert run_deployment.apply(args=[deployment.pk]).get() == "failed"

    deployment.refresh_from_db()
    target.refresh_from_db()
    assert deployment.error == f"CreateAgentRuntime: {code}: {message}"
    assert (deployment.status, deployment.step, deployment.attempts) == ("failed", "runtime", 1)
    assert target.runtime_id == "" and deployment.runtime_id == ""
    finish = AuditEvent.objects.get(action="deployment.finish")
    assert finish.data["error"] == deployment.error


def test_deploy__throttled_while_waiting__retried_then_ready(
    target: PublicationTarget,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SOPGOV_AGENTCORE_POLL_SECONDS = 0
    control, ssm = stubbed["control"], stubbed["ssm"]
    control.add_response("list_agent_runtimes", {"agentRuntimes": []})
    control.add_response(
        "create_agent_runtime",
        _runtime("CREATING", updated=False),
        {
            "agentRuntimeName": "sopgov_bridge_test",
            "clientToken": ANY,
            "agentRuntimeArtifact": ANY,
            "roleArn": ANY,
            "networkConfiguration": ANY,
            "protocolConfiguration": {"serverProtocol": "MCP"},
            "description": ANY,
            "environmentVariables": ANY,
        },
    )
    control.add_client_error("get_agent_runtime", "ThrottlingException", "Rate exceeded", http_status_code=429)
    control.add_response("get_agent_runtime", _described("CREATING"))
    control.add_response("get_agent_runtime", _described("READY"))
    ssm.add_response(
        "put_parameter",
        {"Version": 1, "Tier": "Standard"},
        {"Name": ARN_PARAMETER, "Value": RUNTIME_ARN, "Type": "String", "Overwrite": True, "Description": ANY},
    )
    deployment = _start(target, people, django_capture_on_commit_callbacks)

    assert run_deployment.apply(args=[deployment.pk]).get() == "succeeded"

    deployment.refresh_from_db()
    target.refresh_from_db()
    assert (deployment.status, deployment.attempts, deployment.progress) == ("succeeded", 2, 100)
    assert any("Will retry: GetAgentRuntime: ThrottlingException" in line["message"] for line in deployment.log)
    assert (target.runtime_id, target.runtime_arn, target.runtime_version) == (RUNTIME_ID, RUNTIME_ARN, "1")
    assert AuditEvent.objects.filter(action="deployment.finish").count() == 1


def test_deploy__update_conflicts__retried_once_then_updated(
    target: PublicationTarget,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SOPGOV_AGENTCORE_POLL_SECONDS = 0
    PublicationTarget.objects.filter(pk=target.pk).update(
        runtime_id=RUNTIME_ID, runtime_arn=RUNTIME_ARN, runtime_version="1"
    )
    target.refresh_from_db()
    control = stubbed["control"]
    control.add_client_error(
        "update_agent_runtime", "ConflictException", "The agent runtime is being updated", http_status_code=409
    )
    control.add_response("update_agent_runtime", _runtime("UPDATING", "2"))
    control.add_response("get_agent_runtime", _described("READY", "2"))
    stubbed["ssm"].add_response("put_parameter", {"Version": 2, "Tier": "Standard"})
    deployment = _start(target, people, django_capture_on_commit_callbacks)

    assert run_deployment.apply(args=[deployment.pk]).get() == "succeeded"

    deployment.refresh_from_db()
    assert (deployment.runtime_version, deployment.ssm_parameter_version, deployment.attempts) == ("2", 2, 2)
    # The retry re-sent the same client token: AWS applies the update once however often it is sent.
    update_calls = [
        line for line in deployment.log if "Will retry: UpdateAgentRuntime: ConflictException" in line["message"]
    ]
    assert len(update_calls) == 1


def test_deploy__throttled_every_time__gives_up_failed_after_the_retries(
    target: PublicationTarget,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.publishing import tasks

    monkeypatch.setattr(tasks.run_deployment, "max_retries", 2)
    monkeypatch.setattr(tasks, "MAX_RETRIES", 2)
    for _ in range(3):
        stubbed["control"].add_client_error("list_agent_runtimes", "ThrottlingException", "Rate exceeded", 429)
    deployment = _start(target, people, django_capture_on_commit_callbacks)

    assert run_deployment.apply(args=[deployment.pk]).get() == "failed"

    deployment.refresh_from_db()
    assert deployment.status == "failed" and deployment.finished_at is not None
    assert deployment.error == "ListAgentRuntimes: ThrottlingException: Rate exceeded (after 2 retries)"
    assert deployment.attempts == 3


def test_publication__access_denied_on_the_pointer__failed_with_the_error(
    target: PublicationTarget,
    sop: SOP,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stubbed["ssm"].add_client_error(
        "put_parameter",
        "AccessDeniedException",
        "User is not authorized to perform: ssm:PutParameter on resource: parameter/mcp_server/*",
        400,
    )
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")

    remote = Publication.objects.get(target=target)
    assert remote.status == "failed" and remote.finished_at is not None
    assert remote.error.startswith("PutParameter: AccessDeniedException: User is not authorized")
    assert remote.s3_key and remote.ssm_parameter_version is None  # the upload happened; the pointer did not move
    assert Publication.objects.get(target__name="local").status == "succeeded"  # local bridges unaffected


def test_publication__throttled_then_accepted__succeeded_on_the_second_attempt(
    target: PublicationTarget,
    sop: SOP,
    people: dict[str, Any],
    stubbed: dict[str, Stubber],
    django_capture_on_commit_callbacks: Any,
) -> None:
    stubbed["ssm"].add_client_error("put_parameter", "ThrottlingException", "Rate exceeded", 400)
    stubbed["ssm"].add_response("put_parameter", {"Version": 7, "Tier": "Standard"})
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")

    remote = Publication.objects.get(target=target)
    assert (remote.status, remote.attempts, remote.ssm_parameter_version) == ("succeeded", 2, 7)
    assert remote.error == ""


def test_publication__bucket_missing__failed_and_the_pointer_never_written(
    target: PublicationTarget,
    sop: SOP,
    people: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    PublicationTarget.objects.filter(pk=target.pk).update(s3_bucket="no-such-bucket-anywhere")
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")

    remote = Publication.objects.get(target=target)
    assert remote.status == "failed" and remote.error.startswith("HeadObject: NoSuchBucket:")
    assert remote.s3_key == "" and remote.ssm_parameter_version is None
    assert agentcore.read_parameter(agentcore.clients(target), "/mcp_server/customer_service_sop/bundle") is None
