"""Fixtures for tests that run the bridge as a real process against the real app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.agents.services import agent_token_issue
from tests.conftest import publish_customer_service


@pytest.fixture
def library(transactional_db: Any, people: dict[str, Any]) -> dict[str, str]:
    """The seed's nine customer-service SOPs, published; and tokens: ``agent`` (read, propose),
    ``reader`` (read only) and ``bridge`` (bridge:sync)."""
    publish_customer_service(people, billing_approvals=2)
    return {
        "agent": agent_token_issue(actor=None, name="agent", scopes=["sop:read", "sop:propose"])[1],
        "reader": agent_token_issue(actor=None, name="reader", scopes=["sop:read"])[1],
        "bridge": agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])[1],
    }


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "bridge-cache"
