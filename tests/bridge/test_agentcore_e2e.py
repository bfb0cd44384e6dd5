"""The bridge as it runs on AgentCore Runtime, against moto's server: it follows the SSM
pointer the app moves, and clients reach it through a fake AgentCore data plane that checks
SigV4 signatures, with the runtime ARN discovered in SSM as the seed does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from apps.publishing.deployments import deployment_start
from apps.publishing.models import Publication, PublicationTarget, TargetKind
from apps.publishing.selectors import current_bundle_sha256
from apps.publishing.services import target_republish, target_save
from apps.sops.models import SOPVersion
from tests.aws_fakes import REGION, FakeAgentCore, aws_env, moto_aws, wait_for
from tests.bridge.harness import ROOT, post_tool, reply_of, running_bridge
from tests.conftest import publish_new_version

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]
BUCKET = "sopgov-bundles-e2e"
ARN_PARAMETER = "/mcp_server/customer_service_sop/agent_arn"
BUNDLE_PARAMETER = "/mcp_server/customer_service_sop/bundle"
POLL_SECONDS = 2


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server, reached by this process and its children through ``AWS_ENDPOINT_URL``."""
    with moto_aws(monkeypatch, buckets=(BUCKET,)) as endpoint:
        yield endpoint


@pytest.fixture
def target(people: dict[str, Any], aws_server: str) -> PublicationTarget:
    return target_save(
        actor=people["admin"],
        target=PublicationTarget(
            name="agentcore-e2e",
            kind=TargetKind.AGENTCORE,
            region=REGION,
            runtime_name="sopgov_bridge_e2e",
            container_image_uri="123456789012.dkr.ecr.us-west-2.amazonaws.com/sopgov-bridge:0.3.0",
            execution_role_arn="arn:aws:iam::123456789012:role/sopgov-agentcore",
            s3_bucket=BUCKET,
            ssm_arn_parameter=ARN_PARAMETER,
            ssm_bundle_parameter=BUNDLE_PARAMETER,
            bridge_poll_seconds=POLL_SECONDS,
        ),
    )


def bridge_env(endpoint: str) -> dict[str, str]:
    """What the runtime definition gives the bridge container (``agentcore.runtime_definition``)."""
    return {
        **aws_env(endpoint),
        "SOPGOV_BUNDLE_SOURCE": "ssm",
        "SOPGOV_BUNDLE_SSM_PARAMETER": BUNDLE_PARAMETER,
        "SOPGOV_BRIDGE_AUTH": "none",
        "SOPGOV_BRIDGE_POLL_SECONDS": str(POLL_SECONDS),
        "SOPGOV_BRIDGE_TOKEN": "",
        "SOPGOV_BRIDGE_ID": "agentcore:agentcore-e2e",
    }


def test_bridge_on_agentcore__follows_the_ssm_pointer__reloads_within_its_poll_interval(
    library: dict[str, str], target: PublicationTarget, aws_server: str, cache_dir: Path, people: dict[str, Any]
) -> None:
    target_republish(actor=people["release"], target=target, reason="first content")
    # No app URL the bridge could reach: on AgentCore it has only SSM and S3.
    with running_bridge("http://127.0.0.1:9", "", cache_dir, extra_env=bridge_env(aws_server)) as bridge:
        assert bridge.health()["bundle_sha256"] == current_bundle_sha256()  # type: ignore[index]
        status, body = post_tool(
            bridge.url, None, "get_specific_sop", {"category": "product", "sop_key": "warranty_information"}
        )
        live = SOPVersion.objects.get(sop__key="warranty_information", status="live")
        assert status == 200 and reply_of(body)[1]["version"] == live.number

        candidate = publish_new_version("warranty_information", people, "## Warranty v2\n1. New step.")
        assert Publication.objects.filter(target=target).latest("pk").status == "succeeded"

        def serves_new() -> bool:
            _, reply = post_tool(
                bridge.url, None, "get_specific_sop", {"category": "product", "sop_key": "warranty_information"}
            )
            return reply_of(reply)[1]["version"] == candidate.number

        elapsed = wait_for(serves_new, timeout=10, message="the bridge to reload the moved pointer")
        assert elapsed <= POLL_SECONDS + 1.5  # one poll interval, plus fetching from S3

        _, refused = post_tool(
            bridge.url,
            None,
            "propose_sop_change",
            {
                "category": "product",
                "sop_key": "warranty_information",
                "content": "x",
                "rationale": "y",
            },
        )
        is_error, payload = reply_of(refused)
        assert is_error and "does not take proposals" in payload["detail"]
    telemetry = [
        json.loads(line.split(" mcp_bridge.telemetry ", 1)[1])
        for line in bridge.log.read_text().splitlines()
        if " mcp_bridge.telemetry " in line
    ]
    assert {"get_specific_sop", "propose_sop_change"} <= {record.get("tool") for record in telemetry}


def test_bridge_on_agentcore__pointer_to_tampered_bundle__rejected_keeps_serving(
    library: dict[str, str], target: PublicationTarget, aws_server: str, cache_dir: Path, people: dict[str, Any]
) -> None:
    target_republish(actor=people["release"], target=target, reason="first content")
    good = current_bundle_sha256()
    with running_bridge("http://127.0.0.1:9", "", cache_dir, extra_env=bridge_env(aws_server)) as bridge:
        s3 = boto3.client("s3", region_name=REGION)
        s3.put_object(Bucket=BUCKET, Key="sopgov/bundles/forged.json", Body=b'{"format": 1, "sops": []}')
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=BUNDLE_PARAMETER,
            Overwrite=True,
            Type="String",
            Value=json.dumps(
                {"bucket": BUCKET, "key": "sopgov/bundles/forged.json", "version_id": "", "sha256": "0" * 64}
            ),
        )
        wait_for(lambda: bridge.health()["rejected_bundle"], timeout=10, message="the forged bundle to be refused")  # type: ignore[index]
        assert bridge.health()["rejected_bundle"].startswith("000000000000: ")  # type: ignore[index]
        assert bridge.health()["bundle_sha256"] == good  # type: ignore[index]
        _, body = post_tool(bridge.url, None, "list_sop_categories", {})
        assert not reply_of(body)[0]


def _client(fake: FakeAgentCore, endpoint: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "mcp_bridge.client",
        "--ssm-parameter",
        ARN_PARAMETER,
        "--region",
        REGION,
        "--endpoint-url",
        fake.url,
        *args,
    ]
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **aws_env(endpoint), **env}, capture_output=True, text=True, timeout=120
    )


def test_client__sigv4_through_agentcore__regression_scenario_passes_wrong_key_403(
    library: dict[str, str], target: PublicationTarget, aws_server: str, cache_dir: Path, people: dict[str, Any]
) -> None:
    deployment = deployment_start(actor=people["release"], target=target, reason="e2e")  # eager: runs here
    deployment.refresh_from_db()
    target.refresh_from_db()
    assert deployment.status == "succeeded", deployment.error
    with (
        running_bridge("http://127.0.0.1:9", "", cache_dir, extra_env=bridge_env(aws_server)) as bridge,
        FakeAgentCore(target.runtime_arn, bridge.url) as fake,
    ):
        result = _client(fake, aws_server)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all steps passed" in result.stdout
        assert f"runtime {target.runtime_arn} from {ARN_PARAMETER}" in result.stdout
        assert "proposal is not live: refused by the platform-authenticated bridge" in result.stdout
        assert fake.requests and all(r["status"] in (200, 202) and r["qualifier"] == "DEFAULT" for r in fake.requests)

        fake.requests.clear()
        wrong = _client(fake, aws_server, AWS_SECRET_ACCESS_KEY="not-the-secret")
        assert wrong.returncode == 1
        assert "HTTP 403 Forbidden: AgentCore refused the request" in wrong.stderr
        assert fake.requests == [{"status": 403, "error": fake.requests[0]["error"]}]
        assert fake.requests[0]["error"].startswith("The request signature we calculated does not match")


def dockerfile_env() -> dict[str, str]:
    """The ``ENV`` the bridge image sets (``mcp_bridge/Dockerfile``), parsed from the file."""
    text = (ROOT / "mcp_bridge" / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())
    return env


def test_bridge_image__its_env_and_command__serve_mcp_on_port_8000_for_agentcore(
    library: dict[str, str], target: PublicationTarget, aws_server: str, tmp_path: Path, people: dict[str, Any]
) -> None:
    dockerfile = (ROOT / "mcp_bridge" / "Dockerfile").read_text()
    assert "FROM --platform=linux/arm64 " in dockerfile  # AgentCore Runtime runs arm64 containers
    assert 'CMD ["python", "-m", "mcp_bridge", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    env = dockerfile_env()
    assert (env["SOPGOV_BUNDLE_SOURCE"], env["SOPGOV_BRIDGE_AUTH"]) == ("ssm", "none")
    assert env["SOPGOV_BUNDLE_SSM_PARAMETER"] == BUNDLE_PARAMETER == target.ssm_bundle_parameter
    target_republish(actor=people["release"], target=target, reason="image test")
    # The image's command and environment, on a free port instead of 8000, with the cache in tmp.
    env.update({**aws_env(aws_server), "SOPGOV_BRIDGE_CACHE_DIR": str(tmp_path / "cache"), "SOPGOV_BRIDGE_TOKEN": ""})
    with running_bridge("http://127.0.0.1:9", "", tmp_path / "cache", extra_env=env) as bridge:
        ping = httpx.get(bridge.url.replace("/mcp", "/ping"), timeout=5)
        assert ping.status_code == 200 and ping.json()["status"] == "Healthy"
        # Any Host is accepted (AgentCore's proxy sets its own); no token is asked for.
        status, body = post_tool(bridge.url.replace("127.0.0.1", "localhost"), None, "list_sop_categories", {})
        assert status == 200 and not reply_of(body)[0]
        response = httpx.post(
            bridge.url,
            headers={"Host": "runtime.bedrock-agentcore.internal", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            timeout=5,
        )
        assert response.status_code == 200 and len(response.json()["result"]["tools"]) == 5


def test_client__jwt_authorizer__bearer_token_mode_passes_wrong_token_refused(
    library: dict[str, str], target: PublicationTarget, aws_server: str, cache_dir: Path, people: dict[str, Any]
) -> None:
    target_republish(actor=people["release"], target=target, reason="jwt e2e")
    arn = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/sopgov_bridge_jwt-Xy12"
    boto3.client("ssm", region_name=REGION).put_parameter(Name=ARN_PARAMETER, Value=arn, Type="String", Overwrite=True)
    jwt = "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"
    with (
        running_bridge("http://127.0.0.1:9", "", cache_dir, extra_env=bridge_env(aws_server)) as bridge,
        FakeAgentCore(arn, bridge.url, jwt=jwt) as fake,
    ):
        result = _client(fake, aws_server, "--token", jwt)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all steps passed" in result.stdout
        wrong = _client(fake, aws_server, "--token", "expired.jwt.token")
        assert wrong.returncode == 1
        assert "HTTP 403 Forbidden" in wrong.stderr and "JWT authorizer rejected it" in wrong.stderr
