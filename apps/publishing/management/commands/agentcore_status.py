"""``manage.py agentcore_status TARGET``: where a target stands, in the app and in AWS.

Prints the runtime the app recorded and what AgentCore says of it now (status, version), the
ARN in SSM, the bundle pointer in SSM against the current bundle, the latest deployment and
publication. Exits 1 when the target is out of step (pointer not at the current bundle,
runtime not READY, or the ARN in SSM differs from the runtime's).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.publishing import agentcore
from apps.publishing.models import PublicationTarget, TargetKind
from apps.publishing.selectors import target_summary


class Command(BaseCommand):
    help = "Show a publication target's runtime, SSM parameters and ledger; exit 1 when out of step."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="the target's name")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        target = PublicationTarget.objects.filter(name=options["target"]).first()
        if target is None:
            raise CommandError(f"No target called {options['target']!r}.")
        report = status_report(target)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            for key, value in report.items():
                self.stdout.write(f"{key:>20}: {value}")
        if report["problems"]:
            raise CommandError("; ".join(report["problems"]))


def status_report(target: PublicationTarget) -> dict[str, Any]:
    """Return the target's state as the app and AWS see it, with ``problems`` listing what is off."""
    summary = target_summary(target)
    deployment, publication = summary["deployment"], summary["last_publication"]
    report: dict[str, Any] = {
        "target": target.name,
        "kind": target.kind,
        "current_bundle": summary["current_bundle"],
        "last_publication": (
            f"#{publication.pk} {publication.status} {publication.bundle.sha256[:12]} {publication.error}".strip()
            if publication
            else None
        ),
        "pending_publications": summary["pending"],
        "latest_deployment": (
            f"#{deployment.pk} {deployment.action} {deployment.status} {deployment.progress} % "
            f"{deployment.error}".strip()
            if deployment
            else None
        ),
        "problems": [],
    }
    if target.kind == TargetKind.LOCAL:
        return report
    report.update({"runtime_id": target.runtime_id or None, "runtime_version": target.runtime_version or None})
    try:
        c = agentcore.clients(target)
        pointer = agentcore.read_parameter(c, target.ssm_bundle_parameter)
        arn = agentcore.read_parameter(c, target.ssm_arn_parameter)
        runtime = agentcore.get_runtime(c, target.runtime_id) if target.runtime_id else None
    except agentcore.AwsError as exc:
        report["problems"].append(f"AWS could not be asked: {exc}")
        return report
    served = json.loads(pointer["value"]).get("sha256") if pointer else None
    report["bundle_pointer"] = f"{served} (SSM version {pointer['version']})" if pointer else None
    report["arn_parameter"] = f"{arn['value']} (SSM version {arn['version']})" if arn else None
    if runtime is not None:
        report["runtime_status"] = runtime.get("status")
        report["runtime_live_version"] = runtime.get("agentRuntimeVersion")
        if runtime.get("status") != agentcore.READY:
            report["problems"].append(f"the runtime is {runtime.get('status')}")
    elif target.runtime_name:
        report["problems"].append("no runtime deployed yet")
    if summary["current_bundle"] and served != summary["current_bundle"]:
        report["problems"].append("the bundle pointer is not at the current bundle")
    if target.runtime_arn and (arn is None or arn["value"] != target.runtime_arn):
        report["problems"].append(f"{target.ssm_arn_parameter} does not hold the runtime's ARN")
    return report
