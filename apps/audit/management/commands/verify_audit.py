"""``manage.py verify_audit``: walk the audit hash chain and report the first broken link.

Exit status 0 when the chain is intact, 1 when a link is broken. The last line names the
chain's head (``seq`` and hash): note it somewhere outside this database and pass it back
later with ``--anchor SEQ:HASH`` to prove the chain was not rewritten wholesale since.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.models import AuditVerification
from apps.audit.services import audit_seal
from apps.audit.verification import verification_run


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit 1 at the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--anchor", help="SEQ:HASH noted from an earlier run; must still be in the chain")
        parser.add_argument("--no-seal", action="store_true", help="do not seal pending events first")

    def handle(self, *args: Any, **options: Any) -> None:
        anchor = None
        if options["anchor"]:
            try:
                seq, digest = options["anchor"].split(":", 1)
                anchor = (int(seq), digest.strip().lower())
            except ValueError as exc:
                raise CommandError("--anchor takes SEQ:HASH, e.g. 1042:9f86d08…") from exc
        if not options["no_seal"]:
            sealed = audit_seal()
            if sealed:
                self.stdout.write(f"sealed {sealed} pending event(s) first")
        verification = verification_run(AuditVerification.objects.create().pk, anchor=anchor)
        self.stdout.write(f"checked {verification.checked} event(s) in the chain")
        if verification.unsealed:
            self.stdout.write(
                self.style.WARNING(f"{verification.unsealed} event(s) older than 5 minutes are not sealed")
            )
        if verification.status != "intact":
            broken = verification.first_break or {}
            raise CommandError(
                f"BROKEN at seq {broken.get('seq')} (event {broken.get('event_id') or '—'}): {broken.get('problem')}"
            )
        self.stdout.write(self.style.SUCCESS(f"intact; head {verification.head_seq}:{verification.head_hash}"))
