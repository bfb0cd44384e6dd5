"""A real Celery worker deploying to AgentCore (moto's server) is killed mid-deployment; the
next worker, prompted by the stale-work sweep beat runs, finishes it from the saved step,
updating the runtime once. The ledger ends complete: one start, one finish, one runtime record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.audit.models import AuditEvent
from apps.publishing.deployments import deployment_start
from apps.publishing.models import Deployment, PublicationTarget, TargetKind
from apps.publishing.services import target_save
from apps.publishing.tasks import resume_stale
from sopgov.celery import app as celery_app
from tests.aws_fakes import REGION, aws_env, moto_aws, wait_for
from tests.processes import Celery
from tests.publishing.conftest import ARN_PARAMETER, runtimes, ssm_value

pytestmark = pytest.mark.django_db(transaction=True)
STALE_SECONDS = 3


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_aws(monkeypatch, buckets=("sopgov-bundles-worker",)) as endpoint:
        yield endpoint


def test_deploy__worker_killed_mid_wait__restarted_worker_resumes_and_finishes_once(
    people: dict[str, Any], aws_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    target = target_save(
        actor=people["admin"],
        target=PublicationTarget(
            name="agentcore-worker",
            kind=TargetKind.AGENTCORE,
            region=REGION,
            runtime_name="sopgov_bridge_worker",
            container_image_uri="123456789012.dkr.ecr.us-west-2.amazonaws.com/sopgov-bridge:0.3.0",
            execution_role_arn="arn:aws:iam::123456789012:role/sopgov-agentcore",
            s3_bucket="sopgov-bundles-worker",
        ),
    )
    first = deployment_start(actor=people["release"], target=target)  # eager, here: creates version 1
    first.refresh_from_db()
    assert first.status == "succeeded"

    env = {
        **aws_env(aws_server),
        "SOPGOV_AGENTCORE_POLL_SECONDS": "0.2",
        "SOPGOV_DEPLOYMENT_STALE_SECONDS": str(STALE_SECONDS),
    }
    settings.SOPGOV_DEPLOYMENT_STALE_SECONDS = STALE_SECONDS
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)  # from here on, the workers do it
    worker = Celery("worker", tmp_path, env)
    try:
        deployment = deployment_start(actor=people["release"], target=target, reason="bridge 0.3.1")
        # moto leaves the update UPDATING: the worker polls until we play AWS finishing it.
        wait_for(lambda: Deployment.objects.get(pk=deployment.pk).step == "wait", 30, "the worker to reach the wait")
        worker.kill()
        deployment.refresh_from_db()
        assert (deployment.status, deployment.step, deployment.attempts) == ("in_progress", "wait", 1)
        [runtime] = runtimes().values()
        assert runtime.agent_runtime_version == "2" and runtime.status == "UPDATING"
        runtime.status = "READY"  # AWS finishes while no worker is alive

        worker = Celery("worker", tmp_path, env)
        time.sleep(STALE_SECONDS + 0.5)  # the dead worker's heartbeat goes stale
        resume_stale.delay()  # what beat's publishing-resume-stale entry sends every minute
        wait_for(
            lambda: Deployment.objects.get(pk=deployment.pk).status == "succeeded",
            60,
            "the restarted worker to resume and finish the deployment",
        )
    finally:
        worker.stop()
        celery_app.control.purge()  # the killed worker's unacknowledged message must not leak into other tests

    deployment.refresh_from_db()
    target.refresh_from_db()
    assert (deployment.progress, deployment.attempts, deployment.runtime_version) == (100, 2, "2")
    assert [line["step"] for line in deployment.log].count("wait") >= 1
    assert sum("Updated runtime" in line["message"] for line in deployment.log) == 1
    assert runtime.agent_runtime_version == "2" and len(runtimes()) == 1  # the update was not repeated
    assert target.runtime_version == "2" and ssm_value(ARN_PARAMETER) == (target.runtime_arn, 2)
    ledger = list(
        AuditEvent.objects.filter(target_type="deployment", target_id=str(deployment.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert ledger == ["deployment.start", "deployment.finish"]
    assert AuditEvent.objects.filter(action="target.runtime").count() == 2  # version 1, then version 2
