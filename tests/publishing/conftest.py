"""Fixtures for publishing to AgentCore: moto stands in for AWS (S3, SSM, AgentCore control)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

from apps.publishing.models import PublicationTarget, TargetKind
from apps.publishing.services import target_save

REGION = "us-west-2"
ACCOUNT = "123456789012"
BUCKET = "sopgov-bundles-test"
ARN_PARAMETER = "/mcp_server/customer_service_sop/agent_arn"
BUNDLE_PARAMETER = "/mcp_server/customer_service_sop/bundle"


def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; nothing may reach a real AWS endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def create_bucket(versioned: bool = True) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process AWS, with the bundle bucket (versioned) created."""
    aws_environment(monkeypatch)
    with mock_aws():
        create_bucket()
        yield


def target_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "agentcore-test",
        "kind": TargetKind.AGENTCORE,
        "region": REGION,
        "runtime_name": "sopgov_bridge_test",
        "container_image_uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sopgov-bridge:0.3.0",
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/sopgov-agentcore",
        "s3_bucket": BUCKET,
        "s3_prefix": "sopgov/",
        "ssm_arn_parameter": ARN_PARAMETER,
        "ssm_bundle_parameter": BUNDLE_PARAMETER,
        **overrides,
    }


@pytest.fixture
def target(people: dict[str, Any]) -> PublicationTarget:
    """An enabled AgentCore target, configured by the admin through the service."""
    return target_save(actor=people["admin"], target=PublicationTarget(**target_settings()))


def runtimes(region: str = REGION) -> dict[str, Any]:
    """moto's AgentCore runtimes by id (to read what was deployed, or to play AWS finishing)."""
    return bedrockagentcorecontrol_backends[ACCOUNT][region].agent_runtimes


def finish_updates(_seconds: float = 0) -> None:
    """Play AWS finishing every runtime update (moto leaves them UPDATING); usable as ``sleep``."""
    for runtime in runtimes().values():
        if runtime.status == "UPDATING":
            runtime.status = "READY"


def ssm_value(name: str) -> tuple[str, int]:
    parameter = boto3.client("ssm", region_name=REGION).get_parameter(Name=name)["Parameter"]
    return parameter["Value"], parameter["Version"]
