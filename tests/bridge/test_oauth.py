"""mcp_bridge/oauth.py: scope mapping, caller names and the RFC 9728 metadata URL (§3.1)."""

from __future__ import annotations

from mcp_bridge.oauth import OAuthSettings, bridge_scopes, caller_name, looks_like_jwt, metadata_url


def test_bridge_scopes__scope_string_or_scp_list__only_bridge_scopes_kept() -> None:
    assert bridge_scopes({"scope": "openid sop:read profile sop:report"}) == {"sop:read", "sop:report"}
    assert bridge_scopes({"scp": ["sop:propose", "admin"]}) == {"sop:propose"}
    assert bridge_scopes({}) == frozenset()


def test_caller_name__client_then_azp_then_sub() -> None:
    assert caller_name({"client_id": "app", "azp": "x", "sub": "u"}) == "app"
    assert caller_name({"azp": "x", "sub": "u"}) == "x"
    assert caller_name({"sub": "u"}) == "u"


def test_metadata_url__well_known_path_on_the_resource_origin() -> None:
    settings = OAuthSettings("https://idp", "aud", "https://idp/jwks", "https://mcp.example.com/tenant/mcp")
    assert metadata_url(settings) == "https://mcp.example.com/.well-known/oauth-protected-resource/tenant/mcp"
    assert looks_like_jwt("a.b.c") and not looks_like_jwt("sgv_token")
