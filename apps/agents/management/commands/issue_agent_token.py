"""``manage.py issue_agent_token NAME --scopes sop:read,sop:propose`` (prints the token last)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.agents.models import AgentToken
from apps.agents.services import agent_token_issue, agent_token_revoke
from apps.agents.tokens import hash_token
from apps.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Issue an agent token with scopes; the token is printed on the last line and stored only as a hash."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scopes", default="sop:read", help="comma-separated: sop:read, sop:propose, bridge:sync")
        parser.add_argument(
            "--token-env",
            metavar="VAR",
            help="register the token held in environment variable VAR instead of generating one (idempotent)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="revoke an active token of this name that differs (e.g. a rotated --token-env secret)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        raw = None
        if options["token_env"]:
            raw = os.environ.get(options["token_env"], "")
            if not raw:
                raise CommandError(f"Environment variable {options['token_env']} is empty.")
        if options["replace"]:
            active = AgentToken.objects.filter(name=options["name"], revoked_at__isnull=True).first()
            if active is not None and (raw is None or active.token_sha256 != hash_token(raw)):
                agent_token_revoke(actor=None, token=active, reason="replaced by issue_agent_token --replace")
        try:
            token, secret = agent_token_issue(actor=None, name=options["name"], scopes=scopes, raw_token=raw)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"token {token.name!r} scopes={','.join(token.scopes)} (shown once; stored as sha256)")
        self.stdout.write(secret)
