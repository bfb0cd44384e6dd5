"""A bridge that also accepts an identity provider's OAuth 2.1 access tokens (JWT): verified
against the issuer's JWKS with audience and expiry checked, scopes mapped, RFC 9728 metadata
published; agent tokens keep working."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.bridge.harness import free_port, post_tool, reply_of, running_bridge

pytestmark = [pytest.mark.bridge, pytest.mark.django_db(transaction=True)]

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ARGS = {"category": "billing", "sop_key": "refund_policy"}


class _Issuer(http.server.BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {}

    def do_GET(self) -> None:
        body = json.dumps(_Issuer.jwks).encode()
        self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Any:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    _Issuer.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Issuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def _token(issuer: str, audience: str, scope: str, *, key: Any = KEY, expires_in: int = 300) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": "user-1", "client_id": "helpdesk-app", "scope": scope}
    claims |= {"iat": now, "exp": now + expires_in}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_oauth_access_tokens__verified_scoped_and_described(
    live_server: Any, library: dict[str, str], cache_dir: Path, issuer: str
) -> None:
    resource = "https://mcp.example.test/mcp"
    env = {"SOPGOV_BRIDGE_OAUTH_ISSUER": issuer, "SOPGOV_BRIDGE_RESOURCE_URL": resource}
    with running_bridge(live_server.url, library["bridge"], cache_dir, extra_env=env) as bridge:
        good = post_tool(bridge.url, _token(issuer, resource, "sop:read openid"), "get_specific_sop", ARGS)
        no_read = post_tool(bridge.url, _token(issuer, resource, "sop:report"), "get_specific_sop", ARGS)
        proposal = post_tool(
            bridge.url,
            _token(issuer, resource, "sop:read sop:propose"),
            "propose_sop_change",
            {**ARGS, "content": "# New", "rationale": "x"},
        )
        wrong_audience = post_tool(
            bridge.url, _token(issuer, "https://other/mcp", "sop:read"), "get_specific_sop", ARGS
        )
        expired = post_tool(bridge.url, _token(issuer, resource, "sop:read", expires_in=-120), "get_specific_sop", ARGS)
        forged = post_tool(bridge.url, _token(issuer, resource, "sop:read", key=OTHER_KEY), "get_specific_sop", ARGS)
        agent = post_tool(bridge.url, library["reader"], "get_specific_sop", ARGS)
        unauthorized = httpx.post(bridge.url, json={}, timeout=5)
        metadata = httpx.get(bridge.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"), timeout=5)
    assert good[0] == 200 and reply_of(good[1])[1]["sop_key"] == "refund_policy"
    assert no_read[0] == 200 and "lacks the sop:read scope" in str(reply_of(no_read[1])[1])
    assert "agent token" in reply_of(proposal[1])[1]["detail"]
    assert wrong_audience[0] == expired[0] == forged[0] == 401
    assert agent[0] == 200  # agent tokens stay the default
    challenge = unauthorized.headers["www-authenticate"]
    assert 'resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"' in challenge
    assert metadata.json() == {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": ["sop:read", "sop:propose", "sop:report"],
        "bearer_methods_supported": ["header"],
        "resource_name": "sopgov MCP bridge",
    }
