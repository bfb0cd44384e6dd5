"""``manage.py import_sops FILE.json [--publish --author U --approver V ...]``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ApplicationError
from apps.releases.importing import library_import
from apps.sops.importing import parse_rows


class Command(BaseCommand):
    help = (
        "Import SOPs from a JSON list of {category, key, title, content, summary, example_questions}. "
        "All or nothing: invalid rows are reported by line and nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--author", required=True, help="username recorded as the versions' author")
        parser.add_argument("--publish", action="store_true", help="submit, approve and publish every imported version")
        parser.add_argument(
            "--approver", action="append", default=[], help="reviewer username (repeat for categories needing more)"
        )
        parser.add_argument(
            "--publisher", help="release manager recorded as publishing (default: the system, on your command)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects

        def user(name: str) -> Any:
            found = users.filter(username=name).first()
            if found is None:
                raise CommandError(f"No user {name!r}.")
            return found

        path: Path = options["file"]
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        if options["publish"] and not options["approver"]:
            raise CommandError("--publish needs at least one --approver.")
        approvers = [user(n) for n in options["approver"]]
        publisher = user(options["publisher"]) if options["publisher"] else None
        try:
            rows = parse_rows(path.read_text(encoding="utf-8"))
            result = library_import(
                rows=rows,
                author=user(options["author"]),
                publish=options["publish"],
                approvers=approvers,
                publisher=publisher,
                attested_by=f"import_sops run by {getpass.getuser()}",
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{len(rows)} rows: {result.sops_created} SOPs created, {result.versions_created} versions created, "
            f"{result.unchanged} unchanged, {result.published} published"
            + (f"; bundle {result.bundle_sha256}" if result.bundle_sha256 else "")
        )
