"""Fixtures for tests that run the bridge as a real process against the real app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.agents.services import agent_token_issue
from apps.demo.banking77 import LIBRARY_DIR
from apps.releases.importing import library_import
from tests.factories import CategoryFactory


@pytest.fixture
def library(transactional_db: Any, people: dict[str, Any]) -> dict[str, str]:
    """The seed's nine customer-service SOPs, published; and tokens: ``agent`` (read, propose),
    ``reader`` (read only) and ``bridge`` (bridge:sync)."""
    CategoryFactory(slug="billing", min_approvals=2)
    rows = json.loads((LIBRARY_DIR / "customer_service.json").read_text())
    library_import(
        rows=list(enumerate(rows, 1)),
        author=people["author"],
        publish=True,
        approvers=[people["reviewer"], people["reviewer2"]],
        publisher=people["release"],
    )
    return {
        "agent": agent_token_issue(actor=None, name="agent", scopes=["sop:read", "sop:propose"])[1],
        "reader": agent_token_issue(actor=None, name="reader", scopes=["sop:read"])[1],
        "bridge": agent_token_issue(actor=None, name="bridge", scopes=["bridge:sync"])[1],
    }


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "bridge-cache"
