"""``manage.py agentcore_deploy TARGET``: create or update a target's AgentCore runtime (or move
one of its endpoints), showing progress until it ends.

The deployment is recorded and queued exactly as the release manager's button does. Unless
``--no-wait``, this process then runs it itself (or, when a worker took it first, follows it),
printing each step; the exit status is 0 when it succeeded.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ApplicationError
from apps.publishing import agentcore
from apps.publishing.deployments import deployment_give_up, deployment_run, deployment_start, format_log_line
from apps.publishing.models import Deployment, DeploymentAction, DeploymentStatus, PublicationTarget
from apps.publishing.tasks import MAX_RETRIES, backoff_seconds

ACTIVE = (DeploymentStatus.PENDING, DeploymentStatus.IN_PROGRESS)


class Command(BaseCommand):
    help = "Deploy (create or update) the AgentCore runtime of a publication target, or move an endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="the target's name")
        parser.add_argument("--reason", default="", help="why (kept in the ledger)")
        parser.add_argument("--as", dest="username", help="record this user as the requester (default: system)")
        parser.add_argument("--move-endpoint", metavar="ENDPOINT", help="move this endpoint instead of deploying")
        parser.add_argument("--to-version", metavar="N", help="the runtime version to move the endpoint to")
        parser.add_argument("--no-wait", action="store_true", help="queue it for a worker and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        target = PublicationTarget.objects.filter(name=options["target"]).first()
        if target is None:
            names = ", ".join(PublicationTarget.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No target called {options['target']!r} (targets: {names}).")
        actor = None
        if options["username"]:
            actor = get_user_model().objects.filter(username=options["username"]).first()
            if actor is None:
                raise CommandError(f"No user called {options['username']!r}.")
        action, parameters = DeploymentAction.DEPLOY, {}
        if options["move_endpoint"]:
            action = DeploymentAction.MOVE_ENDPOINT
            parameters = {"endpoint": options["move_endpoint"], "version": options["to_version"] or ""}
        try:
            deployment = deployment_start(
                actor=actor, target=target, action=action, parameters=parameters, reason=options["reason"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"deployment {deployment.pk} of {target.name} recorded ({deployment.get_action_display()})")
        if options["no_wait"]:
            return
        status = self._run(deployment.pk)
        deployment.refresh_from_db()
        if status != DeploymentStatus.SUCCEEDED:
            raise CommandError(f"deployment {deployment.pk} {status}: {deployment.error}")
        self.stdout.write(
            self.style.SUCCESS(
                f"deployment {deployment.pk} succeeded: runtime {deployment.runtime_id} version {deployment.runtime_version}"
            )
        )

    def _run(self, deployment_id: int) -> str:
        """Run the deployment here, retrying what AWS asks to retry and printing each step as it
        is reached; if a worker took it first, follow its progress instead."""
        live = _PrintSteps(self.stdout.write)
        logger = logging.getLogger("apps.publishing.deployments")
        logger.addHandler(live)
        previous_level = logger.level
        logger.setLevel(logging.INFO)
        try:
            retries = 0
            while True:
                try:
                    result = deployment_run(deployment_id)
                except agentcore.AwsError as exc:
                    if retries >= MAX_RETRIES:
                        deployment_give_up(deployment_id, f"{exc} (after {MAX_RETRIES} retries)")
                        return DeploymentStatus.FAILED
                    wait = backoff_seconds(retries)
                    retries += 1
                    self.stderr.write(f"AWS asked to retry ({exc}); again in {wait} s")
                    time.sleep(wait)
                    continue
                if result != "not claimed":
                    return result
                return self._follow(deployment_id)
        finally:
            logger.removeHandler(live)
            logger.setLevel(previous_level)

    def _follow(self, deployment_id: int) -> str:
        """Print a worker's progress on the deployment until it ends."""
        printed = 0
        while True:
            deployment = Deployment.objects.get(pk=deployment_id)
            for line in deployment.log[printed:]:
                self.stdout.write(format_log_line(line))
            printed = len(deployment.log)
            if deployment.status not in ACTIVE:
                return deployment.status
            time.sleep(2)


class _PrintSteps(logging.Handler):
    """Hands the deployment's log lines to the command's output as they are written."""

    def __init__(self, write: Any) -> None:
        super().__init__(logging.INFO)
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.write(message.split(" ", 2)[2] if message.startswith("deployment ") else message)
