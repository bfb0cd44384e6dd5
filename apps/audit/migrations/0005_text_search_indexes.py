"""Indexes that keep the auditor's free-text search fast at millions of events (PostgreSQL).

``icontains`` compiles to ``UPPER(col::text) LIKE UPPER('%…%')``; trigram GIN indexes on those
expressions (``pg_trgm``, a trusted extension) let PostgreSQL find rare text without reading
the whole table. If the extension cannot be created (no privilege), the search still works,
by scanning. SQLite (the demo) needs nothing.
"""

from django.db import migrations, transaction

TEXT_COLUMNS = ("reason", "target_label", "sop_slug")


def create_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE INDEX IF NOT EXISTS audit_request_id_idx ON audit_auditevent (request_id)")
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - optional speed-up; the search works without it
        return
    for column in TEXT_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS audit_{column}_trgm ON audit_auditevent "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS audit_request_id_idx")
    for column in TEXT_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS audit_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_hash_chain")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
