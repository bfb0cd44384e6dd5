"""Stand-ins for AWS that run as real servers, for processes the test does not host in-process
(bridges, Celery workers, the MCP client): moto's standalone server, and a fake AgentCore data
plane that checks SigV4 signatures and forwards to a real bridge."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import httpx
import uvicorn
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.bridge.harness import free_port, wait_until

ACCESS_KEY = "AKIDSOPGOVTEST000001"
SECRET_KEY = "sopgov-test-secret-key-0000000000000000000"
REGION = "us-west-2"


def aws_env(endpoint: str, secret_key: str = SECRET_KEY) -> dict[str, str]:
    """Environment for a child process whose boto3 should talk to ``endpoint`` (moto's server)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto as an HTTP server in this process; yield its URL. Its state is this process's
    moto backends, so a test can read or change what the server holds."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def moto_aws(monkeypatch: Any, buckets: tuple[str, ...] = ()) -> Iterator[str]:
    """moto's server, reset, reached by this process and its children through
    ``AWS_ENDPOINT_URL``, with ``buckets`` created (versioned); yield its URL."""
    import boto3

    with moto_server() as endpoint:
        httpx.post(f"{endpoint}/moto-api/reset")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        for name, value in aws_env(endpoint).items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in buckets:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        yield endpoint


# --- a fake AgentCore Runtime data plane ---------------------------------------------------------


class SignatureError(Exception):
    """The request is not signed as SigV4 requires (AWS answers 403)."""


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def verify_sigv4(
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    secrets: dict[str, str],
    service: str,
    region: str,
    now: dt.datetime | None = None,
) -> str:
    """Check an AWS Signature Version 4 ``Authorization`` header; return the access key id.

    Follows the published algorithm ("Create a signed AWS API request", AWS IAM User Guide):
    canonical request (method, path URI-encoded again for non-S3 services, sorted query,
    the signed headers lower-cased and trimmed, hex sha256 of the payload) → string to sign →
    HMAC chain of date, region, service, ``aws4_request``. Written here from the spec, not with
    botocore's signer, so the client's signing is checked by an independent implementation.

    Raises:
        SignatureError: missing or malformed header, unknown key, wrong scope, clock skew over
            5 minutes, or a signature that does not match.
    """
    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        raise SignatureError("Missing Authentication Token")
    fields = dict(part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(","))
    try:
        access_key, date, scope_region, scope_service, terminator = fields["Credential"].split("/")
        signed_headers = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError) as exc:
        raise SignatureError("Authorization header requires Credential, SignedHeaders and Signature") from exc
    if access_key not in secrets:
        raise SignatureError("The security token included in the request is invalid.")
    if (scope_region, scope_service, terminator) != (region, service, "aws4_request"):
        raise SignatureError(f"Credential should be scoped to {region}/{service}/aws4_request")
    amz_date = headers.get("x-amz-date", "")
    signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    if abs(((now or dt.datetime.now(dt.UTC)) - signed_at).total_seconds()) > 300 or not amz_date.startswith(date):
        raise SignatureError("Signature expired or signed at the wrong date")
    if "host" not in signed_headers:
        raise SignatureError("The host header must be signed")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(parse_qsl(query, keep_blank_values=True))
    )
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers)
    payload_hash = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join(
        [
            method.upper(),
            quote(raw_path, safe="/~"),
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            f"{date}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{secrets[access_key]}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return access_key


class FakeAgentCore:
    """``/runtimes/{ARN}/invocations?qualifier=…`` as AgentCore Runtime serves it for an MCP
    server: SigV4 checked (service ``bedrock-agentcore``), 404 for an unknown runtime, then the
    body forwarded to the bridge's ``/mcp`` with the runtime session header AgentCore adds."""

    def __init__(self, runtime_arn: str, bridge_url: str, jwt: str | None = None) -> None:
        """``jwt``: act as a runtime with a custom JWT authorizer that accepts only this token
        (instead of IAM/SigV4)."""
        self.runtime_arn = runtime_arn
        self.jwt = jwt
        self.bridge_url = bridge_url
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(
            routes=[Route("/runtimes/{arn:path}/invocations", self.invoke, methods=["POST", "GET", "DELETE"])]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def invoke(self, request: Request) -> Response:
        body = await request.body()
        raw_path = request.scope["raw_path"].decode("latin-1")
        query = request.scope["query_string"].decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}
        try:
            if self.jwt is not None:
                if headers.get("authorization") != f"Bearer {self.jwt}":
                    raise SignatureError("Invalid bearer token: the JWT authorizer rejected it")
            else:
                verify_sigv4(
                    request.method,
                    raw_path,
                    query,
                    headers,
                    body,
                    {ACCESS_KEY: SECRET_KEY},
                    "bedrock-agentcore",
                    REGION,
                )
        except SignatureError as exc:
            self.requests.append({"status": 403, "error": str(exc)})
            return JSONResponse(
                {"message": str(exc)}, status_code=403, headers={"x-amzn-errortype": "AccessDeniedException"}
            )
        arn = unquote(raw_path.split("/runtimes/", 1)[1].rsplit("/invocations", 1)[0])
        if arn != self.runtime_arn:
            self.requests.append({"status": 404, "arn": arn})
            return JSONResponse(
                {"message": f"Runtime {arn} not found"},
                status_code=404,
                headers={"x-amzn-errortype": "ResourceNotFoundException"},
            )
        session = headers.get("x-amzn-bedrock-agentcore-runtime-session-id") or headers.get("mcp-session-id") or "s-1"
        forward = {k: v for k, v in headers.items() if k in ("content-type", "accept", "mcp-protocol-version")}
        forward["x-amzn-bedrock-agentcore-runtime-session-id"] = session
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.request(request.method, self.bridge_url, content=body, headers=forward)
        self.requests.append({"status": answer.status_code, "qualifier": dict(parse_qsl(query)).get("qualifier")})
        out = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "mcp-session-id")}
        return Response(answer.content, status_code=answer.status_code, headers=out)

    def __enter__(self) -> FakeAgentCore:
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=10, message="the fake AgentCore data plane to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def wait_for(predicate: Any, timeout: float, message: str) -> float:
    """Return how many seconds ``predicate`` took to hold (fails after ``timeout``)."""
    started = time.monotonic()
    wait_until(predicate, timeout=timeout, interval=0.1, message=message)
    return time.monotonic() - started
