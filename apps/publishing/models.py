"""Bundles (content-addressed snapshots of what agents are served) and their publications."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Bundle(models.Model):
    """An immutable snapshot of every live SOP version, identified by the sha256 of its bytes."""

    sha256 = models.CharField(max_length=64, unique=True)
    payload = models.TextField(help_text="Canonical JSON (mcp_bridge.bundle_format).")
    sop_count = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"bundle {self.sha256[:12]} ({self.sop_count} SOPs)"


class BundleHead(models.Model):
    """The pointer to the current bundle: a single row, locked while a new bundle is built.

    Locking this row serialises bundle builds, so the last build to commit has seen every
    change committed before it and the current bundle never misses a publish.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    bundle = models.ForeignKey(Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="bundlehead_singleton")]

    def __str__(self) -> str:
        return f"current: {self.bundle}"


class TargetKind(models.TextChoices):
    LOCAL = "local", "Local bridges (they pull the bundle from the app)"
    AGENTCORE = "agentcore", "Amazon Bedrock AgentCore Runtime"


class NetworkMode(models.TextChoices):
    PUBLIC = "PUBLIC", "Public"
    VPC = "VPC", "VPC"


class AuthorizerType(models.TextChoices):
    IAM = "iam", "IAM (SigV4-signed requests)"
    JWT = "jwt", "Custom JWT authorizer (OAuth bearer tokens)"


DEFAULT_ARN_PARAMETER = "/mcp_server/customer_service_sop/agent_arn"
DEFAULT_BUNDLE_PARAMETER = "/mcp_server/customer_service_sop/bundle"


class PublicationTarget(models.Model):
    """Where bundles are published: the local bridges, or an AgentCore Runtime.

    For AgentCore the runtime is deployed from ``container_image_uri``; each bundle is uploaded
    to ``s3://s3_bucket/s3_prefix`` under its sha256 and the SSM parameter
    ``ssm_bundle_parameter`` is moved to point at it; the runtime's ARN is kept in
    ``ssm_arn_parameter`` for clients to discover (as the seed does).
    """

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=12, choices=TargetKind.choices, default=TargetKind.AGENTCORE)
    enabled = models.BooleanField(default=True, help_text="Publish every bundle change to this target.")
    description = models.TextField(blank=True)
    region = models.CharField(max_length=32, blank=True, help_text="AWS region, e.g. us-west-2.")
    runtime_name = models.CharField(
        max_length=48, blank=True, help_text="AgentCore runtime name ([a-zA-Z][a-zA-Z0-9_]{0,47})."
    )
    container_image_uri = models.CharField(max_length=512, blank=True, help_text="ECR image of the bridge (arm64).")
    execution_role_arn = models.CharField(max_length=2048, blank=True)
    network_mode = models.CharField(max_length=8, choices=NetworkMode.choices, default=NetworkMode.PUBLIC)
    vpc_subnets = models.JSONField(default=list, blank=True, help_text="Subnet ids (VPC mode).")
    vpc_security_groups = models.JSONField(default=list, blank=True, help_text="Security group ids (VPC mode).")
    authorizer = models.CharField(max_length=4, choices=AuthorizerType.choices, default=AuthorizerType.IAM)
    jwt_discovery_url = models.URLField(blank=True, help_text="OpenID discovery URL of the JWT issuer.")
    jwt_allowed_clients = models.JSONField(default=list, blank=True, help_text="Client ids allowed to call.")
    jwt_allowed_audience = models.JSONField(default=list, blank=True)
    s3_bucket = models.CharField(max_length=63, blank=True)
    s3_prefix = models.CharField(max_length=256, blank=True, default="sopgov/")
    ssm_arn_parameter = models.CharField(max_length=1011, default=DEFAULT_ARN_PARAMETER)
    ssm_bundle_parameter = models.CharField(max_length=1011, default=DEFAULT_BUNDLE_PARAMETER)
    bridge_poll_seconds = models.PositiveSmallIntegerField(
        default=5, help_text="How often the bridge on AgentCore checks the bundle pointer (seconds)."
    )
    runtime_id = models.CharField(max_length=100, blank=True, editable=False)
    runtime_arn = models.CharField(max_length=2048, blank=True, editable=False)
    runtime_version = models.CharField(max_length=20, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("deploy_publicationtarget", "Can deploy AgentCore runtimes and publish to targets")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        """Check the AgentCore settings' formats (AWS's own patterns), so a typo is caught when
        it is saved rather than by a failed deployment.

        Raises:
            ValidationError: keyed by field name.
        """
        errors: dict[str, str] = {}
        if self.kind == TargetKind.AGENTCORE:
            for name, pattern, hint in _AWS_FORMATS:
                value = getattr(self, name)
                if value and not re.fullmatch(pattern, value):
                    errors[name] = hint
            for name in ("vpc_subnets", "vpc_security_groups", "jwt_allowed_clients", "jwt_allowed_audience"):
                value = getattr(self, name)
                if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                    errors[name] = 'A JSON list of non-empty strings, e.g. ["a", "b"].'
            if not 1 <= self.bridge_poll_seconds <= 10:
                errors["bridge_poll_seconds"] = "Between 1 and 10 seconds."
        if errors:
            raise ValidationError(errors)


_AWS_FORMATS = [
    ("region", r"[a-z]{2}(-[a-z]+)+-\d", "An AWS region such as us-west-2."),
    ("runtime_name", r"[a-zA-Z][a-zA-Z0-9_]{0,47}", "A letter, then up to 47 letters, digits or underscores."),
    (
        "execution_role_arn",
        r"arn:aws[a-z-]*:iam::\d{12}:role/.+",
        "An IAM role ARN (arn:aws:iam::123456789012:role/…).",
    ),
    (
        "s3_bucket",
        r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
        "An S3 bucket name (3–63 lower-case letters, digits, dots, hyphens).",
    ),
    ("ssm_arn_parameter", r"/[a-zA-Z0-9_.\-/]+", "A parameter name starting with /, e.g. /mcp_server/app/agent_arn."),
    ("ssm_bundle_parameter", r"/[a-zA-Z0-9_.\-/]+", "A parameter name starting with /, e.g. /mcp_server/app/bundle."),
    (
        "jwt_discovery_url",
        r"https://.+/\.well-known/openid-configuration",
        "The issuer's https://…/.well-known/openid-configuration URL.",
    ),
]


class PublicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded by a newer publication"


class PublicationCause(models.TextChoices):
    PUBLISH = "publish", "Publish"
    ROLLBACK = "rollback", "Rollback"
    RETIRE = "retire", "Retire"
    IMPORT = "import", "Import"
    REBUILD = "rebuild", "Rebuild"
    ROLLOUT_START = "rollout_start", "Rollout started"
    ROLLOUT_STEP = "rollout_step", "Rollout stage"
    ROLLOUT_COMPLETE = "rollout_complete", "Rollout completed"
    ROLLOUT_ABORT = "rollout_abort", "Rollout aborted"
    ROLLOUT_ROLLBACK = "rollout_rollback", "Rollout rolled back"
    REPUBLISH = "republish", "Published again to a target"


class Publication(models.Model):
    """The record that a bundle was made current for one target: by whom, when, why, and how it went.

    A local publication succeeds when it commits (local bridges pull the current bundle and
    acknowledge it with heartbeats). An AgentCore publication starts ``pending`` and a worker
    moves it to ``in_progress`` and then ``succeeded`` (with the S3 object version and the SSM
    parameter version) or ``failed`` (with the AWS error); it is ``superseded`` when a newer
    publication to the same target got there first.
    """

    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, related_name="publications")
    previous_bundle = models.ForeignKey(Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(PublicationTarget, on_delete=models.PROTECT, related_name="publications")
    cause = models.CharField(max_length=20, choices=PublicationCause.choices)
    version = models.ForeignKey(
        "sops.SOPVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="publications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.SUCCEEDED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    runtime_id = models.CharField(max_length=100, blank=True)
    runtime_arn = models.CharField(max_length=2048, blank=True)
    runtime_version = models.CharField(max_length=20, blank=True)
    s3_key = models.CharField(max_length=1024, blank=True)
    s3_version_id = models.CharField(max_length=1024, blank=True)
    ssm_parameter_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["target", "-id"], name="publication_target_idx")]

    def __str__(self) -> str:
        return f"{self.cause} → {self.bundle.sha256[:12]} ({self.target.name})"


class DeploymentAction(models.TextChoices):
    DEPLOY = "deploy", "Deploy or update the runtime"
    MOVE_ENDPOINT = "move_endpoint", "Move an endpoint to a runtime version"


class DeploymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Deployment(models.Model):
    """A long-running change to an AgentCore runtime, run by a worker step by step.

    ``step`` records how far it got, so a worker that dies mid-way is replaced by one that goes
    on from there (``heartbeat_at`` shows it is alive); ``progress`` (0–100) and ``log`` are for
    the people watching. ``client_token`` makes AWS create or update the runtime once even if a
    call is repeated.
    """

    target = models.ForeignKey(PublicationTarget, on_delete=models.PROTECT, related_name="deployments")
    action = models.CharField(max_length=16, choices=DeploymentAction.choices, default=DeploymentAction.DEPLOY)
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices, default=DeploymentStatus.PENDING)
    step = models.CharField(max_length=32, default="queued")
    progress = models.PositiveSmallIntegerField(default=0)
    log = models.JSONField(default=list, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="e.g. endpoint name and version to move.")
    client_token = models.UUIDField(unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    runtime_id = models.CharField(max_length=100, blank=True)
    runtime_arn = models.CharField(max_length=2048, blank=True)
    runtime_version = models.CharField(max_length=20, blank=True)
    ssm_parameter_version = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"],
                condition=Q(status__in=["pending", "in_progress"]),
                name="deployment_one_active_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.target.name} ({self.status})"


class BridgeHeartbeat(models.Model):
    """The latest report of one bridge process: which bundle and which tool descriptions it serves."""

    bridge_id = models.CharField(max_length=100, unique=True)
    target = models.ForeignKey(PublicationTarget, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    bundle_sha256 = models.CharField(max_length=64)
    tools_sha256 = models.CharField(max_length=64)
    bridge_version = models.CharField(max_length=40, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    app_reachable = models.BooleanField(default=True)

    class Meta:
        ordering = ["bridge_id"]

    def __str__(self) -> str:
        return f"{self.bridge_id} serving {self.bundle_sha256[:12]}"
