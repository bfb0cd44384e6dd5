"""AgentCore targets in a real browser: an admin configures one, a release manager deploys it
and watches the progress bar, an auditor sees the ledger and the bridges' drift but no buttons."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from moto import mock_aws
from playwright.sync_api import expect

from apps.publishing.models import BridgeHeartbeat, Deployment, PublicationTarget
from mcp_bridge.manifest import expected_tools_sha256
from tests.conftest import advance, draft
from tests.publishing.conftest import ACCOUNT, BUCKET, REGION, aws_environment, create_bucket, runtimes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    aws_environment(monkeypatch)
    with mock_aws():  # patches botocore in this process, live server thread included
        create_bucket()
        yield


def test_target__admin_configures_release_deploys_auditor_reads(
    new_page: Any, aws: None, people: dict[str, Any], sop: Any
) -> None:
    admin = new_page("admin")
    admin.goto("/admin/publishing/publicationtarget/add/")
    admin.fill("#id_name", "agentcore-prod")
    admin.select_option("#id_kind", "agentcore")
    admin.fill("#id_region", "Oregon")
    admin.fill("#id_runtime_name", "sopgov_bridge")
    admin.fill("#id_container_image_uri", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sopgov-bridge:0.3.0")
    admin.fill("#id_execution_role_arn", f"arn:aws:iam::{ACCOUNT}:role/sopgov-agentcore")
    admin.fill("#id_s3_bucket", BUCKET)
    admin.click("input[name=_save]")
    expect(admin.locator(".field-region .errorlist")).to_have_text("An AWS region such as us-west-2.")
    admin.fill("#id_region", REGION)
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")
    target = PublicationTarget.objects.get(name="agentcore-prod")

    release = new_page("release")
    release.goto(f"/admin/publishing/publicationtarget/{target.pk}/change/")
    expect(release.locator("#target-panel")).to_contain_text("not deployed yet")
    expect(release.locator("#id_region")).to_have_count(0)  # release managers see settings, cannot edit them
    release.fill("#reason-republish", "before anything is live")
    release.click("form[data-operation=republish] button")
    expect(release.locator(".messagelist .error")).to_have_text(
        "Nothing has been published yet; publish a version first."
    )
    release.fill("#reason-deploy", "first deployment")
    release.click("form[data-operation=deploy] button")  # Celery runs eagerly here: done when the page returns
    expect(release.locator(".messagelist")).to_contain_text("started; the progress bar follows it")
    expect(release.locator("#deployment [data-field=status]")).to_have_text("Succeeded")
    expect(release.locator("#deployment [data-field=progress]")).to_have_text("100 %")
    expect(release.locator("#runtime-version")).to_have_text("1")
    expect(release.locator("#deployment .sopgov-log")).to_contain_text(
        "ARN written to /mcp_server/customer_service_sop/agent_arn"
    )

    # A deployment a worker is running: the bar follows it without a reload, then the page refreshes.
    running = Deployment.objects.create(
        target=target,
        status="in_progress",
        step="wait",
        progress=45,
        client_token="8d8f7a4e-5c1b-4c55-9a0e-0c4f8d1f0b11",
        requested_by=people["release"],
        heartbeat_at=timezone.now(),
        log=[{"at": timezone.now().isoformat(), "step": "runtime", "progress": 40, "message": "Updated runtime."}],
    )
    release.reload()
    expect(release.locator("#deployment [data-field=progress]")).to_have_text("45 %")
    Deployment.objects.filter(pk=running.pk).update(
        progress=70,
        log=[
            *running.log,
            {"at": timezone.now().isoformat(), "step": "wait", "progress": 70, "message": "Still UPDATING."},
        ],
    )
    expect(release.locator("#deployment [data-field=progress]")).to_have_text("70 %")
    expect(release.locator("#deployment .sopgov-log")).to_contain_text("Still UPDATING.")
    Deployment.objects.filter(pk=running.pk).update(status="succeeded", progress=100, step="done")
    expect(release.locator("#deployment [data-field=status]")).to_have_text("Succeeded", timeout=20_000)

    # Something live, so there is a ledger and a current bundle to drift from
    advance(draft(sop, people["author"]), people, "live")
    [runtime] = runtimes().values()
    assert target.publications.get().status == "succeeded" and runtime.status == "READY"
    current = target.publications.get().bundle.sha256
    now = timezone.now()
    BridgeHeartbeat.objects.create(
        bridge_id="web-1:8001", bundle_sha256=current, tools_sha256=expected_tools_sha256(), last_seen_at=now
    )
    BridgeHeartbeat.objects.create(
        bridge_id="web-2:8001",
        bundle_sha256="e" * 64,
        tools_sha256=expected_tools_sha256(),
        last_seen_at=now - timedelta(seconds=5),
    )

    auditor = new_page("auditor")
    auditor.goto(f"/admin/publishing/publicationtarget/{target.pk}/change/")
    expect(auditor.locator("#publications tbody tr")).to_have_count(1)
    expect(auditor.locator("#publications")).to_contain_text("Succeeded")
    expect(auditor.locator("#operations")).to_have_count(0)
    auditor.click("text=Bridges")
    expect(auditor.locator("#result_list tbody tr")).to_have_count(2)
    expect(auditor.locator("#result_list tbody tr", has_text="web-1:8001")).to_contain_text("current")
    expect(auditor.locator("#result_list tbody tr", has_text="web-2:8001")).to_contain_text("drift")
    auditor.goto("/admin/")
    expect(auditor.locator("#bridge-summary")).to_contain_text("old bundle")
