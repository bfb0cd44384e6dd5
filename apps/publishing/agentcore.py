"""Amazon Bedrock AgentCore, S3 and SSM calls for publication targets (plain boto3).

Every function takes a ``PublicationTarget`` and talks to the AWS account the process's boto3
credentials reach (instance role, environment, or ``AWS_ENDPOINT_URL`` for a local fake).
Errors come back as ``AwsError``, which says whether retrying can help (throttling, conflicts,
service hiccups) and carries the AWS error code and message for the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .models import AuthorizerType, NetworkMode, PublicationTarget

RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalFailure",
        "ConflictException",
        "SlowDown",
        "RequestTimeout",
    }
)
READY = "READY"
FAILED_STATES = frozenset({"CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"})
_BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class AwsError(Exception):
    """An AWS call failed. ``code`` is the AWS error code (``AccessDeniedException`` …),
    ``retryable`` whether trying again later can succeed."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.retryable = code in RETRYABLE_CODES


def _call(operation: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(operation, error.get("Code", "ClientError"), error.get("Message", str(exc))) from exc
    except BotoCoreError as exc:
        raise AwsError(operation, exc.__class__.__name__, str(exc)) from exc


@dataclass
class Clients:
    control: Any
    s3: Any
    ssm: Any


def clients(target: PublicationTarget) -> Clients:
    """Return boto3 clients for ``target``'s region: AgentCore control plane, S3, SSM."""
    session = boto3.session.Session(region_name=target.region or None)
    return Clients(
        control=session.client("bedrock-agentcore-control", config=_BOTO_CONFIG),
        s3=session.client("s3", config=_BOTO_CONFIG),
        ssm=session.client("ssm", config=_BOTO_CONFIG),
    )


def missing_settings(target: PublicationTarget, *, for_runtime: bool) -> list[str]:
    """Return the names of settings ``target`` lacks to publish bundles (or, with
    ``for_runtime``, to deploy its runtime)."""
    needed = ["region", "s3_bucket", "ssm_bundle_parameter"]
    if for_runtime:
        needed += ["runtime_name", "container_image_uri", "execution_role_arn", "ssm_arn_parameter"]
    missing = [name for name in needed if not getattr(target, name)]
    if for_runtime and target.network_mode == NetworkMode.VPC and not target.vpc_subnets:
        missing.append("vpc_subnets")
    if for_runtime and target.authorizer == AuthorizerType.JWT and not target.jwt_discovery_url:
        missing.append("jwt_discovery_url")
    return missing


def bundle_key(target: PublicationTarget, sha256: str) -> str:
    """Return the content-addressed S3 key of a bundle: ``<prefix>bundles/<sha256>.json``."""
    prefix = target.s3_prefix or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return f"{prefix}bundles/{sha256}.json"


def upload_bundle(c: Clients, target: PublicationTarget, sha256: str, payload: bytes) -> tuple[str, str]:
    """Put the bundle at its content-addressed key, unless it is already there with this hash;
    return ``(key, S3 version id)`` (the version id is ``""`` on an unversioned bucket)."""
    key = bundle_key(target, sha256)
    try:
        head = c.s3.head_object(Bucket=target.s3_bucket, Key=key)
        if head.get("Metadata", {}).get("sha256") == sha256:
            return key, head.get("VersionId") or ""
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise AwsError(
                "HeadObject", exc.response["Error"].get("Code", ""), exc.response["Error"].get("Message", "")
            ) from exc
    response = _call(
        "PutObject",
        c.s3.put_object,
        Bucket=target.s3_bucket,
        Key=key,
        Body=payload,
        ContentType="application/json",
        Metadata={"sha256": sha256},
    )
    return key, response.get("VersionId") or ""


def point_bundle_parameter(c: Clients, target: PublicationTarget, *, key: str, version_id: str, sha256: str) -> int:
    """Move the SSM pointer the bridge on AgentCore reads to this bundle; return the parameter's
    new version. Value: ``{"bucket", "key", "version_id", "sha256"}``."""
    value = json.dumps(
        {"bucket": target.s3_bucket, "key": key, "version_id": version_id, "sha256": sha256}, sort_keys=True
    )
    response = _call(
        "PutParameter",
        c.ssm.put_parameter,
        Name=target.ssm_bundle_parameter,
        Value=value,
        Type="String",
        Overwrite=True,
        Description="sopgov: the bundle the MCP bridge serves",
    )
    return int(response["Version"])


def write_arn_parameter(c: Clients, target: PublicationTarget, arn: str) -> int:
    """Store the runtime ARN where clients look it up (the seed's convention); return the version."""
    response = _call(
        "PutParameter",
        c.ssm.put_parameter,
        Name=target.ssm_arn_parameter,
        Value=arn,
        Type="String",
        Overwrite=True,
        Description="sopgov: ARN of the SOP MCP server on AgentCore Runtime",
    )
    return int(response["Version"])


def runtime_definition(target: PublicationTarget) -> dict[str, Any]:
    """Return the create/update arguments that describe ``target``'s runtime: the bridge image,
    role, network, MCP protocol, authorizer, and environment pointing the bridge at its bundle."""
    network: dict[str, Any] = {"networkMode": target.network_mode}
    if target.network_mode == NetworkMode.VPC:
        network["networkModeConfig"] = {
            "subnets": list(target.vpc_subnets),
            "securityGroups": list(target.vpc_security_groups),
        }
    definition: dict[str, Any] = {
        "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": target.container_image_uri}},
        "roleArn": target.execution_role_arn,
        "networkConfiguration": network,
        "protocolConfiguration": {"serverProtocol": "MCP"},
        "description": f"sopgov MCP bridge ({target.name})",
        "environmentVariables": {
            "SOPGOV_BUNDLE_SOURCE": "ssm",
            "SOPGOV_BUNDLE_SSM_PARAMETER": target.ssm_bundle_parameter,
            "SOPGOV_BRIDGE_AUTH": "none",
            "SOPGOV_BRIDGE_ALLOWED_HOSTS": "*",
            "SOPGOV_BRIDGE_CACHE_DIR": "/tmp/sopgov-bridge",  # noqa: S108 - inside the container
            "SOPGOV_BRIDGE_POLL_SECONDS": str(target.bridge_poll_seconds),
            "SOPGOV_BRIDGE_ID": f"agentcore:{target.name}",
            "AWS_REGION": target.region,
        },
    }
    if target.authorizer == AuthorizerType.JWT:
        jwt: dict[str, Any] = {"discoveryUrl": target.jwt_discovery_url}
        if target.jwt_allowed_clients:
            jwt["allowedClients"] = list(target.jwt_allowed_clients)
        if target.jwt_allowed_audience:
            jwt["allowedAudience"] = list(target.jwt_allowed_audience)
        definition["authorizerConfiguration"] = {"customJWTAuthorizer": jwt}
    return definition


def find_runtime(c: Clients, name: str) -> dict[str, Any] | None:
    """Return the summary of the runtime called ``name``, or ``None``."""
    token: str | None = None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = _call("ListAgentRuntimes", c.control.list_agent_runtimes, **kwargs)
        for runtime in page.get("agentRuntimes", []):
            if runtime.get("agentRuntimeName") == name:
                return runtime
        token = page.get("nextToken")
        if not token:
            return None


def create_runtime(c: Clients, target: PublicationTarget, client_token: str) -> dict[str, Any]:
    """Create the runtime; ``client_token`` makes a repeated call create it once."""
    return _call(
        "CreateAgentRuntime",
        c.control.create_agent_runtime,
        agentRuntimeName=target.runtime_name,
        clientToken=client_token,
        **runtime_definition(target),
    )


def update_runtime(c: Clients, target: PublicationTarget, runtime_id: str, client_token: str) -> dict[str, Any]:
    """Update the runtime to ``target``'s definition; AgentCore makes a new immutable version."""
    return _call(
        "UpdateAgentRuntime",
        c.control.update_agent_runtime,
        agentRuntimeId=runtime_id,
        clientToken=client_token,
        **runtime_definition(target),
    )


def get_runtime(c: Clients, runtime_id: str) -> dict[str, Any]:
    """Return the runtime's description (``status``, ``agentRuntimeVersion``, ``failureReason`` …)."""
    return _call("GetAgentRuntime", c.control.get_agent_runtime, agentRuntimeId=runtime_id)


def move_endpoint(c: Clients, runtime_id: str, endpoint: str, version: str, client_token: str) -> dict[str, Any]:
    """Point the named endpoint at ``version`` of the runtime, creating the endpoint if needed."""
    try:
        c.control.get_agent_runtime_endpoint(agentRuntimeId=runtime_id, endpointName=endpoint)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise AwsError(
                "GetAgentRuntimeEndpoint",
                exc.response["Error"].get("Code", ""),
                exc.response["Error"].get("Message", ""),
            ) from exc
        return _call(
            "CreateAgentRuntimeEndpoint",
            c.control.create_agent_runtime_endpoint,
            agentRuntimeId=runtime_id,
            name=endpoint,
            agentRuntimeVersion=version,
            clientToken=client_token,
        )
    return _call(
        "UpdateAgentRuntimeEndpoint",
        c.control.update_agent_runtime_endpoint,
        agentRuntimeId=runtime_id,
        endpointName=endpoint,
        agentRuntimeVersion=version,
        clientToken=client_token,
    )


def get_endpoint(c: Clients, runtime_id: str, endpoint: str) -> dict[str, Any]:
    """Return the endpoint's description (``status``, ``liveVersion``, ``targetVersion``)."""
    return _call(
        "GetAgentRuntimeEndpoint",
        c.control.get_agent_runtime_endpoint,
        agentRuntimeId=runtime_id,
        endpointName=endpoint,
    )


def read_parameter(c: Clients, name: str) -> dict[str, Any] | None:
    """Return ``{"value", "version"}`` of an SSM parameter, or ``None`` if it does not exist."""
    try:
        parameter = c.ssm.get_parameter(Name=name)["Parameter"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise AwsError(
            "GetParameter", exc.response["Error"].get("Code", ""), exc.response["Error"].get("Message", "")
        ) from exc
    return {"value": parameter["Value"], "version": parameter["Version"]}
