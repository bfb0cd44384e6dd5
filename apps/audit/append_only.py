"""Database triggers that make the audit table append-only.

PostgreSQL: a ``BEFORE UPDATE OR DELETE`` row trigger raises (SQLSTATE 23000, so Django raises
``IntegrityError``) for every DELETE, and for every UPDATE except sealing — setting ``seq``,
``prev_hash`` and ``hash`` on an unsealed event while every other column stays as it was. The
comparison uses ``to_jsonb(row)`` minus the seal columns, so a column added later is protected
without touching the trigger. SQLite (the demo) gets the same rules in its trigger dialect.

Whoever owns the table can still disable the trigger; the hash chain (``chain``) is what
makes such an edit visible (``verify_audit``). Production should run the app under a role
that does not own the table.
"""

from __future__ import annotations

from typing import Any

SEAL_COLUMNS = ("seq", "prev_hash", "hash")

POSTGRES_INSTALL = """
CREATE OR REPLACE FUNCTION sopgov_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit events are append-only: DELETE of event % refused', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF OLD.seq IS NOT NULL OR NEW.seq IS NULL
     OR (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash') IS DISTINCT FROM (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash')
  THEN
    RAISE EXCEPTION 'audit events are append-only: UPDATE of event % refused', OLD.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION sopgov_audit_append_only();
"""
POSTGRES_UNINSTALL = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS sopgov_audit_append_only();
"""


def _sqlite_install(columns: list[str]) -> list[str]:
    changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in columns if c not in SEAL_COLUMNS)
    return [
        "DROP TRIGGER IF EXISTS audit_event_no_delete",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END",
        "DROP TRIGGER IF EXISTS audit_event_no_update",
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent "
        f"WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR {changed} "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END",
    ]


def install(schema_editor: Any) -> None:
    """Create the triggers on the connection's database (PostgreSQL or SQLite)."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTALL, params=None)
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, "audit_auditevent")]
        for statement in _sqlite_install(columns):
            schema_editor.execute(statement)


def uninstall(schema_editor: Any) -> None:
    """Drop the triggers (migrating backwards)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UNINSTALL, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
