"""Writes for agent tokens, the tool-call log and agents' proposals."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from apps.sops.models import SOPVersion, VersionOrigin, VersionStatus
from apps.sops.selectors import sop_get
from apps.sops.services import sop_version_create, sop_version_withdraw

from . import permissions
from .models import AgentToken
from .tokens import generate_token, hash_token

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@transaction.atomic
def agent_token_issue(
    *, actor: Any | None, name: str, scopes: list[str], raw_token: str | None = None
) -> tuple[AgentToken, str]:
    """Create an agent token; return it and the raw token, which is shown once and never stored.

    Args:
        name: unique name of the agent or bridge (``[A-Za-z0-9][A-Za-z0-9_.-]*``).
        scopes: subset of ``permissions.AGENT_SCOPES``.
        raw_token: register this exact token (operators' pre-shared secret, ≥ 32 chars)
            instead of generating one; if a token with the same hash exists under the same
            name, its scopes are updated instead (idempotent start-up).

    Raises:
        InvalidInput: bad name, unknown scope, or a too-short ``raw_token``.
        Conflict: an active token with this name exists (revoke it first).
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(
            "Token names use letters, digits, '.', '_' and '-'.", field_errors={"name": ["Invalid name."]}
        )
    unknown = sorted(set(scopes) - set(permissions.AGENT_SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            f"Unknown or missing scopes {unknown}; choose from {list(permissions.AGENT_SCOPES)}.",
            field_errors={"scopes": ["Invalid scopes."]},
        )
    if raw_token is not None and len(raw_token) < 32:
        raise InvalidInput("A supplied token must be at least 32 characters.", field_errors={"token": ["Too short."]})
    raw = raw_token or generate_token()
    digest = hash_token(raw)
    existing = AgentToken.objects.select_for_update().filter(name=name, revoked_at__isnull=True).first()
    if existing is not None:
        if existing.token_sha256 != digest:
            raise Conflict(f"An agent token named {name!r} already exists; revoke it or choose another name.")
        if existing.scopes != sorted(set(scopes)):
            before = {"scopes": existing.scopes}
            existing.scopes = sorted(set(scopes))
            existing.save()
            audit_record(
                actor=actor,
                action=AuditAction.TOKEN_ISSUE,
                target=existing,
                before=before,
                after={"scopes": existing.scopes},
                reason="re-registered with new scopes",
            )
        return existing, raw
    if AgentToken.objects.filter(token_sha256=digest).exists():
        raise Conflict("This token value was used before; supply a new one.")
    user_model = get_user_model()
    username = f"agent-{name}"[:150]
    service_user, _ = user_model.objects.get_or_create(username=username, defaults={"is_active": True})
    service_user.set_unusable_password()
    service_user.save()
    token = AgentToken.objects.create(
        name=name,
        token_prefix=raw[:12],
        token_sha256=digest,
        scopes=sorted(set(scopes)),
        user=service_user,
        created_by=actor,
    )
    audit_record(actor=actor, action=AuditAction.TOKEN_ISSUE, target=token, after={"scopes": token.scopes})
    return token, raw


@transaction.atomic
def agent_token_revoke(*, actor: Any | None, token: AgentToken, reason: str = "") -> AgentToken:
    """Revoke ``token``; bridges refuse it within a second of the next credentials poll."""
    token = AgentToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save()
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKE,
            target=token,
            before={"revoked": False},
            after={"revoked": True},
            reason=reason,
        )
    return token


def agent_token_authenticate(raw: str) -> AgentToken | None:
    """Return the active token whose hash matches ``raw``, or ``None``."""
    if not raw:
        return None
    token = AgentToken.objects.select_related("user").filter(token_sha256=hash_token(raw)).first()
    return token if token is not None and token.is_active else None


@transaction.atomic
def sop_change_propose(*, token: AgentToken, category: str, sop_key: str, content: str, rationale: str) -> SOPVersion:
    """Record an agent's proposed content for an existing SOP as a new draft; nothing goes live.

    The draft copies the summary and example questions of the live (else latest) version,
    takes ``rationale`` as its change note, and is authored by the token's service account so
    a person must submit, review and publish it. It replaces (withdraws) the same agent's
    earlier open proposals for this SOP.

    Raises:
        PermissionDenied: the token lacks ``sop:propose``.
        NotFound: no SOP ``category/sop_key`` (``extra`` lists what exists).
        InvalidInput: empty content or rationale, content over the size limit.
    """
    if not permissions.agent_has_scope(token, permissions.SCOPE_PROPOSE):
        raise PermissionDenied("This agent token lacks the sop:propose scope.")
    sop = sop_get(category=category, key=sop_key) if isinstance(category, str) and isinstance(sop_key, str) else None
    if sop is None:
        from apps.sops.models import SOP

        keys = (
            list(SOP.objects.filter(category__slug=category).values_list("key", flat=True))
            if isinstance(category, str)
            else []
        )
        raise NotFound(
            f"No SOP {category}/{sop_key}; agents may propose changes to existing SOPs only.",
            extra={"available_sops": keys},
        )
    base = sop.versions.filter(status=VersionStatus.LIVE).first() or sop.versions.order_by("-number").first()
    earlier = list(
        sop.versions.filter(status=VersionStatus.DRAFT, origin=VersionOrigin.AGENT, author=token.user).order_by(
            "number"
        )
    )
    version = sop_version_create(
        actor=token.user,
        sop=sop,
        content=content,
        summary=base.summary if base else sop.title,
        example_questions=list(base.example_questions) if base else [],
        change_note=rationale,
        based_on=base,
        origin=VersionOrigin.AGENT,
        check_permission=False,
        audit_action=AuditAction.VERSION_PROPOSE,
        actor_label=f"agent:{token.name}",
    )
    # One open proposal per agent and SOP: the newer one replaces the agent's earlier drafts, so
    # an agent that proposes again (or a repeated regression run) does not pile up drafts for the
    # owner. They stay in the history as withdrawn, with the reason.
    for old in earlier:
        sop_version_withdraw(
            actor=token.user,
            version=old,
            reason=f"Replaced by the same agent's newer proposal, v{version.number}.",
            check_permission=False,
        )
    return version


PRUNE_BATCH = 10_000


def tool_calls_prune(*, older_than_days: int | None = None, now: Any = None) -> int:
    """Delete tool-call log rows older than the retention period (``SOPGOV_TOOL_CALL_RETENTION_DAYS``)
    in batches, and record one audit event with the count and cutoff; return the count.

    Audit events are never pruned (their table refuses DELETE); only the call log is.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from apps.audit.models import AuditAction
    from apps.audit.services import audit_record

    from .models import ToolCall

    days = settings.SOPGOV_TOOL_CALL_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(ToolCall.objects.filter(called_at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += ToolCall.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        with transaction.atomic():
            audit_record(
                actor=None,
                action=AuditAction.TOOLCALLS_PRUNE,
                target=None,
                target_ref=("toolcall", "*", "tool-call log"),
                after={"deleted": deleted, "cutoff": cutoff.isoformat(), "retention_days": days},
                reason=f"tool calls older than {days} days",
                actor_label="system (retention)",
            )
    return deleted
