"""Importing an existing SOP library from JSON, all or nothing.

File format: a JSON list of objects ``{category, key, title, content, summary,
example_questions}``. Rows are checked first and every problem reported with the row's line in
the file; only a clean file is imported, in one transaction. With ``approve`` the versions go
through review (submit, approvals by the named approvers); publishing them is the release
layer's (``apps.releases.importing``), which calls ``library_stage`` and publishes one bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.core.errors import InvalidInput
from apps.signatures.services import signature_for_import

from . import services
from .models import SOP, Category, SOPVersion, VersionOrigin, VersionStatus
from .validation import clean_category_slug, clean_sop_fields, clean_version_fields

REQUIRED_KEYS = ("category", "key", "title", "content", "summary")


@dataclass
class ImportResult:
    """What an import did: counts of SOPs created, versions created, unchanged rows skipped,
    versions published, and the bundle published (if any); ``approved`` lists the versions
    approved on import, for the release layer to publish."""

    sops_created: int = 0
    versions_created: int = 0
    unchanged: int = 0
    published: int = 0
    bundle_sha256: str | None = None
    lines: list[str] = field(default_factory=list)
    approved: list[SOPVersion] = field(default_factory=list)


def parse_rows(text: str) -> list[tuple[int, Any]]:
    """Return ``(line, row)`` for each element of the JSON list in ``text``.

    Raises:
        InvalidInput: not JSON (with line and column), or not a list.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from exc
    if not isinstance(data, list):
        raise InvalidInput("The file must contain a JSON list of SOP objects.")
    # Find where each element starts, to report problems by line.
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    lines: list[int] = []
    for _ in data:
        while text[position] in " \t\r\n,":
            position += 1
        lines.append(text.count("\n", 0, position) + 1)
        _, position = decoder.raw_decode(text, position)
    return list(zip(lines, data, strict=False))


def validate_rows(rows: list[tuple[int, Any]]) -> list[dict[str, Any]]:
    """Check every row; return them cleaned.

    Raises:
        InvalidInput: listing every problem as ``line N (category/key): field: message``.
    """
    problems: list[str] = []
    cleaned: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        where = f"line {line}"
        if not isinstance(row, dict):
            problems.append(f"{where}: expected an object, got {type(row).__name__}")
            continue
        where = f"line {line} ({row.get('category')}/{row.get('key')})"
        missing = [k for k in REQUIRED_KEYS if k not in row]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        try:
            category = clean_category_slug(row["category"])
            sop_fields = clean_sop_fields(key=row["key"], title=row["title"])
            version_fields = clean_version_fields(
                content=row["content"],
                summary=row["summary"],
                example_questions=row.get("example_questions", []),
                change_note=row.get("change_note") or "Imported",
            )
        except InvalidInput as exc:
            for name, messages in exc.field_errors.items():
                problems.extend(f"{where}: {name}: {m}" for m in messages)
            continue
        slug = (category, sop_fields["key"])
        if slug in seen:
            problems.append(f"{where}: duplicate of line {seen[slug]}")
            continue
        seen[slug] = line
        cleaned.append({"category": category, **sop_fields, **version_fields})
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s); nothing was imported:\n" + "\n".join(problems),
            field_errors={"rows": problems},
        )
    return cleaned


@transaction.atomic
def library_stage(
    *,
    rows: list[tuple[int, Any]],
    author: Any,
    approve: bool = False,
    approvers: list[Any] | None = None,
    attested_by: str = "library import",
) -> ImportResult:
    """Import the rows as versions written by ``author``, all or nothing; return what happened.

    New categories are created with one required approval. A row whose content, summary and
    example questions equal the SOP's live version is skipped. With ``approve``, each new
    version is submitted and approved by ``approvers`` (as many as its category requires, in
    order); their e-signatures are recorded with method ``import``, attested by ``attested_by``
    (the operator who ran the import), since nobody re-entered a password.

    Raises:
        InvalidInput: any row is invalid (all problems listed), or too few approvers for a category.
        ApplicationError: a lifecycle rule refused a step (e.g. an approver is the author);
            the whole import is rolled back.
    """
    cleaned = validate_rows(rows)
    approvers = approvers or []
    result = ImportResult()
    if approve:
        needs = {c.slug: c.min_approvals for c in Category.objects.filter(slug__in={r["category"] for r in cleaned})}
        short = sorted(slug for slug, n in needs.items() if n > len(approvers))
        if short:
            raise InvalidInput(f"Categories {short} need more approvals than the {len(approvers)} approver(s) given.")
    for row in cleaned:
        category = Category.objects.filter(slug=row["category"]).first()
        if category is None:
            category = services.category_create(
                actor=author, slug=row["category"], name=row["category"].replace("_", " ").title()
            )
        sop = SOP.objects.filter(category=category, key=row["key"]).first()
        if sop is None:
            sop = services.sop_create(actor=author, category=category, key=row["key"], title=row["title"])
            result.sops_created += 1
        live = sop.versions.filter(status=VersionStatus.LIVE).first()
        if live is not None and (live.content, live.summary, live.example_questions) == (
            row["content"],
            row["summary"],
            row["example_questions"],
        ):
            result.unchanged += 1
            continue
        version = services.sop_version_create(
            actor=author,
            sop=sop,
            content=row["content"],
            summary=row["summary"],
            example_questions=row["example_questions"],
            change_note=row["change_note"],
            based_on=live,
            origin=VersionOrigin.IMPORT,
        )
        result.versions_created += 1
        if approve:
            services.sop_version_submit(actor=author, version=version, routing_check=False)
            for approver in approvers[: category.min_approvals]:
                version = services.sop_version_approve(
                    actor=approver,
                    version=version,
                    comment="Approved on import",
                    signature=signature_for_import(signer=approver, action="approve", attested_by=attested_by),
                )
            result.approved.append(version)
    return result
