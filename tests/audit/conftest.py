"""Fixtures for the audit tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection


@pytest.fixture
def unguarded(db: Any) -> Any:
    """Run SQL with the append-only trigger off, as someone with the table's owner rights could."""

    def run(sql: str, params: list[Any] | None = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred checks
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params or [])
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    return run
