"""``import_sops``: all or nothing, problems reported by line, publishing through the lifecycle."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.publishing.selectors import current_bundle
from apps.sops.models import SOP, SOPVersion
from tests.factories import CategoryFactory

GOOD = {
    "category": "billing",
    "key": "refund_policy",
    "title": "Refunds",
    "content": "## Steps\n1. Check.",
    "summary": "Use for refunds.",
    "example_questions": ["Refund?"],
}


def write(tmp_path: Path, rows: Any, raw: str | None = None) -> Path:
    path = tmp_path / "library.json"
    path.write_text(raw if raw is not None else json.dumps(rows, indent=2))
    return path


def test_import__invalid_rows__reported_by_line_and_nothing_imported(tmp_path: Path, people: dict[str, Any]) -> None:
    rows = [GOOD, {**GOOD, "key": "bad key!"}, {**GOOD, "key": "second", "summary": ""}, {"category": "billing"}, GOOD]
    path = write(tmp_path, rows)
    with pytest.raises(CommandError) as caught:
        call_command("import_sops", str(path), "--author", "author")
    message = str(caught.value)
    text = path.read_text().splitlines()
    # every problem names the line where its row starts in the file
    for key in ("bad key!", "second"):
        line = next(i for i, row in enumerate(text, 1) if f'"key": "{key}"' in row) - 2
        assert f"line {line} (billing/{key})" in message
    assert "missing key, title, content, summary" in message
    assert "duplicate of line 2" in message
    assert "nothing was imported" in message
    assert SOP.objects.count() == 0 and SOPVersion.objects.count() == 0
    assert not AuditEvent.objects.exists()


def test_import__not_json__line_and_column(tmp_path: Path, people: dict[str, Any]) -> None:
    path = write(tmp_path, None, raw='[\n {"category": "billing",\n  oops }\n]')
    with pytest.raises(CommandError, match="line 3, column 3"):
        call_command("import_sops", str(path), "--author", "author")


def test_import__publish__approved_by_named_approvers_and_one_bundle(tmp_path: Path, people: dict[str, Any]) -> None:
    CategoryFactory(slug="billing", min_approvals=2)
    rows = [GOOD, {**GOOD, "key": "payment_methods", "title": "Payment methods"}]
    out = StringIO()
    call_command(
        "import_sops",
        str(write(tmp_path, rows)),
        "--author",
        "author",
        "--publish",
        "--approver",
        "reviewer",
        "--approver",
        "reviewer2",
        "--publisher",
        "release",
        stdout=out,
    )
    assert "2 SOPs created, 2 versions created, 0 unchanged, 2 published" in out.getvalue()
    for version in SOPVersion.objects.all():
        assert version.status == "live"
        assert sorted(version.reviews.values_list("reviewer__username", flat=True)) == ["reviewer", "reviewer2"]
    assert current_bundle().sop_count == 2  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="bundle.publish").count() == 1
    imported = AuditEvent.objects.get(action="library.import")
    assert imported.after["published"] == 2
    # Running it again changes nothing
    out = StringIO()
    call_command(
        "import_sops",
        str(write(tmp_path, rows)),
        "--author",
        "author",
        "--publish",
        "--approver",
        "reviewer",
        "--approver",
        "reviewer2",
        "--publisher",
        "release",
        stdout=out,
    )
    assert "0 versions created, 2 unchanged" in out.getvalue()


def test_import__too_few_approvers__refused(tmp_path: Path, people: dict[str, Any]) -> None:
    CategoryFactory(slug="billing", min_approvals=2)
    with pytest.raises(CommandError, match="need more approvals"):
        call_command(
            "import_sops",
            str(write(tmp_path, [GOOD])),
            "--author",
            "author",
            "--publish",
            "--approver",
            "reviewer",
            "--publisher",
            "release",
        )
    assert SOP.objects.count() == 0


def test_import__approver_is_author__whole_import_rolled_back(tmp_path: Path, people: dict[str, Any]) -> None:
    rows = [{**GOOD, "key": "a"}, {**GOOD, "key": "b"}]
    with pytest.raises(CommandError, match="own version"):
        call_command(
            "import_sops",
            str(write(tmp_path, rows)),
            "--author",
            "author_reviewer",
            "--publish",
            "--approver",
            "author_reviewer",
            "--publisher",
            "release",
        )
    assert SOP.objects.count() == 0
    assert current_bundle() is None


def test_import__publish_without_publisher__system_publishes_approvals_are_approvers(
    tmp_path: Path, people: dict[str, Any]
) -> None:
    call_command(
        "import_sops", str(write(tmp_path, [GOOD])), "--author", "author", "--publish", "--approver", "reviewer"
    )
    version = SOPVersion.objects.get()
    assert version.status == "live"
    assert version.published_by is None
    assert list(version.reviews.values_list("reviewer__username", flat=True)) == ["reviewer"]
    publish = AuditEvent.objects.get(action="version.go_live")
    assert (publish.actor, publish.actor_label) == (None, "system")
    assert AuditEvent.objects.get(action="version.approve").actor == people["reviewer"]
