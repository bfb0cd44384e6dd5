"""AWS for the bridge: SigV4-signed MCP requests to AgentCore Runtime, and the bundle source
a bridge hosted on AgentCore reads (an SSM parameter pointing at a bundle in S3).

boto3 is imported lazily: a bridge that syncs from the app never needs it.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any
from urllib.parse import quote

import httpx2

AGENTCORE_SERVICE = "bedrock-agentcore"


def invocation_url(region: str, arn: str, qualifier: str = "DEFAULT", base: str | None = None) -> str:
    """Return the data-plane URL that serves MCP for a runtime ARN (as the seed builds it):
    ``https://bedrock-agentcore.<region>.amazonaws.com/runtimes/<url-encoded ARN>/invocations?qualifier=…``.
    ``base`` replaces the scheme and host (a VPC endpoint, or a local fake in tests)."""
    root = (base or f"https://bedrock-agentcore.{region}.amazonaws.com").rstrip("/")
    return f"{root}/runtimes/{quote(arn, safe='')}/invocations?qualifier={quote(qualifier, safe='')}"


def arn_from_ssm(parameter: str, region: str) -> str:
    """Read the runtime ARN stored in SSM Parameter Store (the seed's discovery convention)."""
    import boto3

    return boto3.client("ssm", region_name=region).get_parameter(Name=parameter)["Parameter"]["Value"]


class SigV4Auth(httpx2.Auth):
    """Sign every request with AWS Signature Version 4 (botocore's signer), as AgentCore
    Runtime requires for IAM-authorised callers. The body is read so it is signed too."""

    requires_request_body = True

    def __init__(self, credentials: Any, region: str, service: str = AGENTCORE_SERVICE) -> None:
        from botocore.auth import SigV4Auth as BotoSigV4

        self._signer = BotoSigV4(credentials, service, region)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        from botocore.awsrequest import AWSRequest

        headers = dict(request.headers)
        # Not part of the signature on the server side; signing it would cause a mismatch.
        headers.pop("connection", None)
        aws_request = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        self._signer.add_auth(aws_request)
        request.headers.update(dict(aws_request.headers))
        yield request


def default_credentials(region: str) -> Any:
    """Return the boto3 session's credentials (environment, profile, instance role …).

    Raises:
        RuntimeError: no credentials are configured.
    """
    import boto3

    credentials = boto3.session.Session(region_name=region).get_credentials()
    if credentials is None:
        raise RuntimeError("No AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
    return credentials.get_frozen_credentials()


class SsmBundleSource:
    """Where a bridge on AgentCore finds its bundle: the SSM parameter ``name`` holds
    ``{"bucket", "key", "version_id", "sha256"}`` and the bundle's bytes are that S3 object."""

    def __init__(self, name: str, region: str | None) -> None:
        import boto3

        session = boto3.session.Session(region_name=region)
        self.name = name
        self._ssm = session.client("ssm")
        self._s3 = session.client("s3")
        self._version: int | None = None

    def fetch(self, current_sha256: str | None) -> tuple[str, bytes] | None:
        """Return ``(sha256, bytes)`` when the pointer names a bundle other than the current one
        (blocking; run it in a thread). ``None`` when unchanged or not set yet.

        Raises:
            OSError: AWS could not be reached or refused (the bridge keeps serving).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            parameter = self._ssm.get_parameter(Name=self.name)["Parameter"]
            if parameter["Version"] == self._version:
                return None
            pointer = json.loads(parameter["Value"])
            if pointer.get("sha256") == current_sha256:
                self._version = parameter["Version"]
                return None
            kwargs = {"Bucket": pointer["bucket"], "Key": pointer["key"]}
            if pointer.get("version_id"):
                kwargs["VersionId"] = pointer["version_id"]
            body = self._s3.get_object(**kwargs)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise OSError(f"AWS refused: {exc}") from exc
        except (BotoCoreError, KeyError, ValueError) as exc:
            raise OSError(f"cannot read the bundle pointer {self.name}: {exc}") from exc
        self._version = parameter["Version"]
        return pointer["sha256"], body
