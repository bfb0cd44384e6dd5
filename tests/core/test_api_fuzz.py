"""schemathesis over the whole REST API with a credential per role (the issue's 'kept fixed')."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.agents.services import agent_token_issue
from sopgov.wsgi import application
from tests.conftest import publish_customer_service

# The schema the app serves (loaded once, in-process); its operations are called through WSGI.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Iterator[None]:
    """As Django's test client does, the request signals leave the test's database connection open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(people: dict[str, Any]) -> dict[str, str | None]:
    """The published customer-service library (so small ids exist) and an ``Authorization``
    value per role: none, each person's API token, an agent's and a bridge's token."""
    publish_customer_service(people)
    creds: dict[str, str | None] = {"anonymous": None}
    for role in ("author", "reviewer", "release", "auditor", "admin", "nobody"):
        creds[role] = "Token " + Token.objects.create(user=people[role]).key
    creds["agent"] = (
        "Bearer "
        + agent_token_issue(actor=None, name="fuzz-agent", scopes=["sop:read", "sop:propose", "sop:report"])[1]
    )
    creds["bridge"] = "Bearer " + agent_token_issue(actor=None, name="fuzz-bridge", scopes=["bridge:sync"])[1]
    return creds


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Fixed seeds keep CI repeatable; SOPGOV_FUZZ_EXAMPLES=200 explores further on a workstation.
EXAMPLES = int(os.environ.get("SOPGOV_FUZZ_EXAMPLES", "0"))


def _deepest(credentials: dict[str, str | None], path: str) -> str | None:
    """The credential that gets furthest into ``path``: the bridge's for its endpoints, an agent's
    for agents' writes, else the administrator's (every permission)."""
    if path.startswith("/api/v1/bridge/"):
        return credentials["bridge"]
    if path in ("/api/v1/agent/proposals/", "/api/v1/outcomes/"):
        return credentials["agent"]
    return credentials["admin"]


def _fuzz_settings(examples: int, phases: list[Phase]) -> Any:
    """Hypothesis settings for these tests: no deadline, fixed seeds, ``examples`` per operation
    (``SOPGOV_FUZZ_EXAMPLES`` overrides)."""
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        phases=phases,
    )


@schema.parametrize()
@_fuzz_settings(5, [Phase.generate])  # generated requests only; the coverage cases run below
def test_api__every_role__no_5xx_and_schema_kept(case: Any, credentials: dict[str, str | None]) -> None:
    """Each generated request sent once per role (and with no credentials): whatever the role
    may or may not do, the answer is never a 5xx and always matches the documented responses."""
    for credential in credentials.values():
        case.call_and_validate(headers={"Authorization": credential} if credential else {}, checks=CHECKS)


@schema.parametrize()
@_fuzz_settings(12, [Phase.explicit, Phase.generate])  # explicit: schemathesis' coverage cases
def test_api__most_privileged__no_5xx_and_schema_kept(case: Any, credentials: dict[str, str | None]) -> None:
    """Schemathesis' coverage cases (boundary values, missing and wrong-typed fields) and more
    generated requests, with the credential that passes the permission checks, so bodies and
    filters reach validation and the services."""
    credential = _deepest(credentials, case.operation.path)
    case.call_and_validate(headers={"Authorization": credential}, checks=CHECKS)
