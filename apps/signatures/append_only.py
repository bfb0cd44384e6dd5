"""A trigger that makes signatures immutable: no UPDATE, no DELETE (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any

POSTGRES_INSTALL = """
CREATE OR REPLACE FUNCTION sopgov_signature_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'e-signatures cannot be changed or deleted (signature %)', OLD.id
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
DROP TRIGGER IF EXISTS signature_immutable ON signatures_signature;
CREATE TRIGGER signature_immutable BEFORE UPDATE OR DELETE ON signatures_signature
  FOR EACH ROW EXECUTE FUNCTION sopgov_signature_immutable();
"""


def install(schema_editor: Any) -> None:
    """Create the trigger on the connection's database."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTALL, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS signature_no_{op.lower()}")
            schema_editor.execute(
                f"CREATE TRIGGER signature_no_{op.lower()} BEFORE {op} ON signatures_signature "
                "BEGIN SELECT RAISE(ABORT, 'e-signatures cannot be changed or deleted'); END"
            )


def uninstall(schema_editor: Any) -> None:
    """Drop the trigger (migrating backwards)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS signature_immutable ON signatures_signature", params=None)
        schema_editor.execute("DROP FUNCTION IF EXISTS sopgov_signature_immutable()", params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS signature_no_{op}")
