"""``agentcore_deploy`` and ``agentcore_status`` for operators (moto in-process)."""

from __future__ import annotations

import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.publishing.models import Deployment, PublicationTarget
from apps.sops.models import SOP
from tests.conftest import advance, draft
from tests.publishing.conftest import runtimes

pytestmark = pytest.mark.usefixtures("aws")


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_agentcore_deploy__runs_here_and_prints_each_step(target: PublicationTarget, people: dict[str, Any]) -> None:
    out = _run("agentcore_deploy", target.name, "--reason", "ops deploy", "--as", "release")

    [runtime] = runtimes().values()
    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.requested_by, deployment.reason) == (
        "succeeded",
        people["release"],
        "ops deploy",
    )
    assert f"deployment {deployment.pk} of agentcore-test recorded" in out
    assert "[ 20 %] validate: Settings checked." in out
    assert "[ 40 %] runtime: Created runtime" in out
    assert "[100 %] done: Deployment finished." in out
    assert f"succeeded: runtime {runtime.agent_runtime_id} version 1" in out


def test_agentcore_deploy__no_wait__only_queued(target: PublicationTarget) -> None:
    out = _run("agentcore_deploy", target.name, "--no-wait")
    assert Deployment.objects.get().status == "pending" and "recorded" in out and runtimes() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "No target called 'nowhere' (targets: agentcore-test, local)."),
        (["agentcore-test", "--as", "ghost"], "No user called 'ghost'."),
        (["local"], "local is not an AgentCore target."),
        (
            ["agentcore-test", "--move-endpoint", "production", "--to-version", "1"],
            "has no runtime yet; deploy it first.",
        ),
    ],
)
def test_agentcore_deploy__bad_arguments__clear_error(target: PublicationTarget, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        _run("agentcore_deploy", *args)


def test_agentcore_deploy__fails__exit_status_and_the_reason(target: PublicationTarget) -> None:
    PublicationTarget.objects.filter(pk=target.pk).update(execution_role_arn="")
    with pytest.raises(CommandError, match=re.escape("failed: agentcore-test lacks settings: execution_role_arn.")):
        _run("agentcore_deploy", target.name)


def test_agentcore_status__in_step_then_pointer_behind__exit_1_naming_it(
    target: PublicationTarget, sop: SOP, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        advance(draft(sop, people["author"]), people, "live")
    _run("agentcore_deploy", target.name)

    report = json.loads(_run("agentcore_status", target.name, "--json"))
    assert report["problems"] == [] and report["runtime_status"] == "READY"
    assert report["bundle_pointer"].startswith(report["current_bundle"])

    PublicationTarget.objects.filter(pk=target.pk).update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):  # a new bundle the disabled target does not get
        advance(draft(sop, people["author"], content="## Steps\n1. Newer."), people, "live")
    with pytest.raises(CommandError, match="the bundle pointer is not at the current bundle"):
        _run("agentcore_status", target.name)
