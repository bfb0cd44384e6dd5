"""Every write to categories, SOPs, versions and reviews.

Each service: locks the SOP row (so transitions on one SOP are serialised), checks the role
(``permissions``) and the state (``workflow``), changes the rows, writes the audit event in the
same transaction and queues side effects on commit. Views, the API, the admin, commands and the
bridge endpoints call these and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    AlreadyReviewed,
    Conflict,
    EditConflict,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
    SelfApprovalForbidden,
)
from apps.core.tasks import enqueue_on_commit
from apps.publishing.models import PublicationCause
from apps.publishing.services import bundle_publish
from apps.signatures.services import SignatureIntent, signature_audit_data, signature_record, signature_required

from . import permissions
from .models import (
    SOP,
    Category,
    Review,
    ReviewDecision,
    SOPVersion,
    VersionOrigin,
    VersionStatus,
    content_sha256,
)
from .validation import clean_category_slug, clean_reason, clean_sop_fields, clean_version_fields
from .workflow import APPROVE, PUBLISH, REJECT, RETIRE, ROLLBACK, SUBMIT, Transition


def _with_history_user(instance: Any, actor: Any | None) -> Any:
    instance._history_user = actor
    return instance


def _lock_version(version: SOPVersion) -> tuple[SOP, SOPVersion]:
    """Lock the version's SOP, then the version; return both freshly read."""
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=version.sop_id)
    locked = SOPVersion.objects.select_for_update().get(pk=version.pk)
    locked.sop = sop
    return sop, locked


def _begin_release(
    actor: Any | None, version: SOPVersion, transition: Transition, reason: str
) -> tuple[SOP, SOPVersion, str]:
    """Lock, check the release-manager role and the source state, clean the reason (required
    when the workflow table says so); return the locked SOP and version and the reason.

    ``actor=None`` is the system (an operator's command, an automatic decision); it is
    recorded as such in the audit trail. The web UI and the API always pass a person.
    """
    sop, version = _lock_version(version)
    if actor is not None and not permissions.can_release(actor, version):
        raise PermissionDenied(f"Only release managers may {transition.action.replace('rollback', 'roll back')}.")
    _guard_state(version, transition)
    return sop, version, clean_reason(reason, required=transition.needs_reason)


def _guard_state(version: SOPVersion, transition: Transition) -> None:
    if version.status not in transition.sources:
        allowed = " or ".join(sorted(VersionStatus(s).label.lower() for s in transition.sources))
        raise InvalidTransition(
            f"Cannot {transition.action} {version}: it is {version.get_status_display().lower()}, "
            f"and only a version that is {allowed} can be {_past(transition.action)}.",
            extra={"status": version.status, "action": transition.action},
        )


def _past(action: str) -> str:
    return {
        "submit": "submitted",
        "approve": "approved",
        "reject": "rejected",
        "publish": "published",
        "rollback": "rolled back to",
        "retire": "retired",
    }[action]


def _sign(intent: SignatureIntent | None, version: SOPVersion, comment: str) -> dict[str, Any]:
    """Record the e-signature (when a person acted) and return its facts for the audit event."""
    signature = signature_record(intent=intent, version=version, comment=comment) if intent else None
    return signature_audit_data(signature)


def _version_state(version: SOPVersion) -> dict[str, Any]:
    return {"status": version.status, "number": version.number, "content_sha256": version.content_sha256}


# --- categories ------------------------------------------------------------------------


@transaction.atomic
def _clean_review_period(months: Any) -> int:
    if not isinstance(months, int) or not 1 <= months <= 60:
        raise InvalidInput(
            "The review period is 1 to 60 months.", field_errors={"review_period_months": ["1 to 60 months."]}
        )
    return months


def category_create(
    *,
    actor: Any | None,
    slug: str,
    name: str,
    description: str = "",
    min_approvals: int = 1,
    review_period_months: int = 12,
) -> Category:
    """Create a category with its approval policy and periodic review period; return it.

    Raises:
        InvalidInput: bad slug, ``min_approvals`` < 1, or a review period outside 1–60 months.
        Conflict: the slug is taken.
    """
    slug = clean_category_slug(slug)
    if not isinstance(min_approvals, int) or min_approvals < 1:
        raise InvalidInput("A category needs at least one approval.", field_errors={"min_approvals": ["At least 1."]})
    review_period_months = _clean_review_period(review_period_months)
    if Category.objects.filter(slug=slug).exists():
        raise Conflict(f"Category {slug!r} already exists.")
    category = _with_history_user(
        Category(
            slug=slug,
            name=name.strip() or slug,
            description=description,
            min_approvals=min_approvals,
            review_period_months=review_period_months,
        ),
        actor,
    )
    category.save()
    audit_record(
        actor=actor,
        action=AuditAction.CATEGORY_CREATE,
        target=category,
        after={
            "slug": slug,
            "name": category.name,
            "min_approvals": min_approvals,
            "review_period_months": review_period_months,
        },
    )
    return category


# --- SOPs ------------------------------------------------------------------------------


@transaction.atomic
def sop_create(*, actor: Any, category: Category, key: str, title: str, owner: Any | None = None) -> SOP:
    """Create an SOP ``category/key`` owned by ``owner`` (default: the actor); return it.

    Raises:
        PermissionDenied: the actor may not create SOPs.
        InvalidInput: bad key or title.
        Conflict: ``category/key`` exists already.
    """
    if not permissions.can_create_sop(actor):
        raise PermissionDenied("Only authors can create SOPs.")
    fields = clean_sop_fields(key=key, title=title)
    if SOP.objects.filter(category=category, key=fields["key"]).exists():
        raise Conflict(f"The SOP {category.slug}/{fields['key']} already exists.")
    sop = _with_history_user(SOP(category=category, owner=owner or actor, **fields), actor)
    try:
        with transaction.atomic():
            sop.save()
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(f"The SOP {category.slug}/{fields['key']} already exists.") from exc
    audit_record(
        actor=actor,
        action=AuditAction.SOP_CREATE,
        target=sop,
        sop_slug=sop.slug,
        after={"category": category.slug, "key": sop.key, "title": sop.title, "owner": sop.owner.get_username()},
    )
    return sop


@transaction.atomic
def sop_update(*, actor: Any, sop: SOP, title: str, owner: Any) -> SOP:
    """Change an SOP's title and owner; return it.

    Raises:
        PermissionDenied: the actor is neither the owner nor an admin.
        InvalidInput: empty or over-long title.
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=sop.pk)
    if not permissions.can_change_sop(actor, sop):
        raise PermissionDenied("Only the SOP's owner or an admin can change its details.")
    title = clean_sop_fields(key=sop.key, title=title)["title"]
    before = {"title": sop.title, "owner": sop.owner.get_username()}
    sop.title, sop.owner = title, owner
    _with_history_user(sop, actor).save()
    after = {"title": sop.title, "owner": owner.get_username()}
    if after != before:
        audit_record(
            actor=actor, action=AuditAction.SOP_UPDATE, target=sop, sop_slug=sop.slug, before=before, after=after
        )
    return sop


# --- drafts ----------------------------------------------------------------------------


@transaction.atomic
def sop_version_create(
    *,
    actor: Any,
    sop: SOP,
    content: str,
    summary: str,
    example_questions: list[str] | None,
    change_note: str,
    based_on: SOPVersion | None = None,
    origin: VersionOrigin = VersionOrigin.PERSON,
    check_permission: bool = True,
    audit_action: AuditAction = AuditAction.VERSION_CREATE,
    actor_label: str | None = None,
) -> SOPVersion:
    """Create the next-numbered draft version of ``sop``; return it.

    Numbers are allocated under the SOP's row lock, so concurrent drafts get distinct numbers.
    ``check_permission=False`` is for callers that authorised the actor another way (an agent
    token's ``sop:propose`` scope).

    Raises:
        PermissionDenied: the actor may not draft versions.
        InvalidInput: invalid fields (``validation.clean_version_fields``).
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category").get(pk=sop.pk)
    if check_permission and not permissions.can_draft(actor, sop):
        raise PermissionDenied("Only authors can draft SOP versions.")
    fields = clean_version_fields(
        content=content, summary=summary, example_questions=example_questions, change_note=change_note
    )
    number = (sop.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = _with_history_user(
        SOPVersion(
            sop=sop,
            number=number,
            author=actor,
            origin=origin,
            based_on=based_on,
            content_sha256=content_sha256(fields["content"]),
            **fields,
        ),
        actor,
    )
    version.save()
    audit_record(
        actor=actor,
        action=audit_action,
        target=version,
        sop_slug=sop.slug,
        after=_version_state(version),
        reason=fields["change_note"],
        actor_label=actor_label,
        data={"origin": origin, "based_on": based_on.number if based_on else None},
    )
    return version


@transaction.atomic
def sop_version_edit(
    *,
    actor: Any,
    version: SOPVersion,
    content: str,
    summary: str,
    example_questions: list[str] | None,
    change_note: str,
    expected_revision: int,
) -> SOPVersion:
    """Save new fields into a draft; return it with ``revision`` incremented.

    Args:
        expected_revision: the ``revision`` the editor loaded. If the draft was saved since,
            nothing is changed and ``EditConflict`` tells the user to reload and merge.

    Raises:
        PermissionDenied: the actor is not the draft's author (nor an admin).
        InvalidTransition: the version is no longer a draft (submitted versions are immutable).
        EditConflict: the draft changed since it was loaded.
        InvalidInput: invalid fields.
    """
    sop, version = _lock_version(version)
    if version.status != VersionStatus.DRAFT:
        raise InvalidTransition(
            f"{version} is {version.get_status_display().lower()} and can no longer change; start a new draft instead."
        )
    if not permissions.can_edit_draft(actor, version):
        raise PermissionDenied("Only the draft's author can edit it.")
    if version.revision != expected_revision:
        raise EditConflict(
            f"{version} was saved by someone else since you opened it (revision {version.revision}, "
            f"you had {expected_revision}). Your text was not saved; copy it, reload and merge.",
            extra={"current_revision": version.revision},
        )
    fields = clean_version_fields(
        content=content, summary=summary, example_questions=example_questions, change_note=change_note
    )
    before = {k: getattr(version, k) for k in ("content_sha256", "summary", "example_questions", "change_note")}
    for name, value in fields.items():
        setattr(version, name, value)
    version.content_sha256 = content_sha256(fields["content"])
    version.revision += 1
    _with_history_user(version, actor).save()
    after = {k: getattr(version, k) for k in ("content_sha256", "summary", "example_questions", "change_note")}
    changed = {k for k in after if after[k] != before[k]}
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_EDIT,
        target=version,
        sop_slug=sop.slug,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        data={"revision": version.revision},
    )
    return version


# --- transitions -----------------------------------------------------------------------


@transaction.atomic
def sop_version_submit(*, actor: Any, version: SOPVersion) -> SOPVersion:
    """Submit a draft for review; from now on it is immutable. Return it.

    Raises:
        PermissionDenied: the actor is neither the author nor the SOP's owner with the author role.
        InvalidTransition: the version is not a draft.
    """
    sop, version = _lock_version(version)
    if not permissions.can_submit(actor, version):
        raise PermissionDenied("Only the draft's author or the SOP's owner can submit it for review.")
    _guard_state(version, SUBMIT)
    before = _version_state(version)
    version.status = VersionStatus.IN_REVIEW
    version.submitted_at = timezone.now()
    _with_history_user(version, actor).save()
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_SUBMIT,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        data={"approvals_required": sop.category.min_approvals},
    )
    from .tasks import notify_review_requested

    enqueue_on_commit(notify_review_requested, version.pk)
    return version


def _guard_review(actor: Any, version: SOPVersion, transition: Transition) -> None:
    if not permissions.can_review(actor, version):
        raise PermissionDenied("Only reviewers can approve or reject versions.")
    _guard_state(version, transition)
    if permissions.is_self_review(actor, version):
        raise SelfApprovalForbidden(
            f"You wrote {version}; an author can never approve or reject their own version. Ask another reviewer."
        )
    if Review.objects.filter(version=version, reviewer=actor).exists():
        raise AlreadyReviewed(f"You have already recorded your decision on {version}.")


@transaction.atomic
def sop_version_approve(
    *, actor: Any, version: SOPVersion, comment: str = "", signature: SignatureIntent | None = None
) -> SOPVersion:
    """Record the actor's signed approval; the version becomes approved once the category's
    minimum number of approvals is reached. Return it.

    Raises:
        PermissionDenied: not a reviewer, or someone else's signature.
        InvalidTransition: the version is not in review.
        SelfApprovalForbidden: the actor wrote the version.
        AlreadyReviewed: the actor already decided on it.
        InvalidInput: no e-signature (``signatures.services.signature_verify``).
    """
    sop, version = _lock_version(version)
    _guard_review(actor, version, APPROVE)
    comment = clean_reason(comment, required=APPROVE.needs_reason, field="comment")
    intent = signature_required(actor, signature, "approve")
    Review.objects.create(
        version=version,
        reviewer=actor,
        decision=ReviewDecision.APPROVED,
        comment=comment,
        content_sha256=version.content_sha256,
    )
    approvals = version.reviews.filter(decision=ReviewDecision.APPROVED).count()
    required = sop.category.min_approvals
    before = _version_state(version)
    if approvals >= required:
        version.status = VersionStatus.APPROVED
        version.decided_at = timezone.now()
        _with_history_user(version, actor).save()
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_APPROVE,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=comment,
        data={"approvals": approvals, "approvals_required": required, **_sign(intent, version, comment)},
    )
    if version.status == VersionStatus.APPROVED:
        from .tasks import notify_review_decision

        enqueue_on_commit(notify_review_decision, version.pk)
    return version


@transaction.atomic
def sop_version_reject(
    *, actor: Any, version: SOPVersion, comment: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Reject a version in review, signed, with the reason in ``comment``; return it.

    Raises:
        InvalidInput: no comment, or no e-signature.
        PermissionDenied / InvalidTransition / SelfApprovalForbidden / AlreadyReviewed: as for approve.
    """
    sop, version = _lock_version(version)
    _guard_review(actor, version, REJECT)
    comment = clean_reason(comment, required=REJECT.needs_reason, field="comment")
    intent = signature_required(actor, signature, "reject")
    Review.objects.create(
        version=version,
        reviewer=actor,
        decision=ReviewDecision.REJECTED,
        comment=comment,
        content_sha256=version.content_sha256,
    )
    before = _version_state(version)
    version.status = VersionStatus.REJECTED
    version.decided_at = timezone.now()
    _with_history_user(version, actor).save()
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_REJECT,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=comment,
        data=_sign(intent, version, comment),
    )
    from .tasks import notify_review_decision

    enqueue_on_commit(notify_review_decision, version.pk)
    return version


def sop_version_make_live(
    *,
    actor: Any | None,
    sop: SOP,
    version: SOPVersion,
    reason: str,
    action: AuditAction,
    audit_data: dict[str, Any] | None = None,
) -> SOPVersion | None:
    """Supersede the SOP's live version (if any) and make ``version`` live; return the old one.

    For callers that already hold the SOP's lock and checked permission and state: the release
    services here and the rollout services (a completed rollout). Writes the audit events; does
    not publish a bundle.
    """
    now = timezone.now()
    current = SOPVersion.objects.select_for_update().filter(sop=sop, status=VersionStatus.LIVE).first()
    if current is not None:
        before = _version_state(current)
        current.status = VersionStatus.SUPERSEDED
        current.ended_at = now
        _with_history_user(current, actor).save()
        audit_record(
            actor=actor,
            action=AuditAction.VERSION_SUPERSEDE,
            target=current,
            sop_slug=sop.slug,
            before=before,
            after=_version_state(current),
            reason=reason,
            data={"replaced_by": version.number},
        )
    before = _version_state(version)
    version.status = VersionStatus.LIVE
    version.published_at = now
    version.published_by = actor
    version.ended_at = None
    _with_history_user(version, actor).save()
    sop.review_due_on = review_due_from(sop, timezone.localdate())
    sop.review_reminded_on = None
    sop.save(update_fields=["review_due_on", "review_reminded_on", "updated_at"])
    audit_record(
        actor=actor,
        action=action,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=reason,
        data={
            "replaces": current.number if current else None,
            "review_due_on": sop.review_due_on.isoformat(),
            **(audit_data or {}),
        },
    )
    return current


def review_due_from(sop: SOP, start: date) -> date:
    """Return the periodic review date of a version of ``sop`` going live on ``start``: the
    category's review period later (calendar months; the 31st becomes the month's last day)."""
    from dateutil.relativedelta import relativedelta

    return start + relativedelta(months=sop.category.review_period_months)


@transaction.atomic
def sop_version_publish(
    *,
    actor: Any,
    version: SOPVersion,
    reason: str = "",
    immediate: bool = False,
    build_bundle: bool = True,
    signature: SignatureIntent | None = None,
) -> SOPVersion:
    """Publish an approved version and return it.

    When the SOP already has a live version, a rollout starts (``apps.rollouts``): the version
    becomes the canary, served to the first stage's share of conversations. When nothing is
    live, or with ``immediate=True`` (an emergency fix, audited as such), the version goes live
    for every conversation at once and the previous live version is superseded. Either way a
    new bundle is published.

    ``build_bundle=False`` is for callers that publish many versions in one transaction and
    then call ``bundle_publish`` once (library imports); it implies ``immediate``.

    Raises:
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not approved, or a rollout of this SOP is running.
        InvalidInput: no e-signature (meaning "released").
    """
    sop, version, reason = _begin_release(actor, version, PUBLISH, reason)
    _refuse_during_rollout(sop, "publish another version")
    intent = signature_required(actor, signature, "publish")
    signed = _sign(intent, version, reason)
    has_live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).exists()
    if has_live and not immediate and build_bundle:
        from apps.rollouts.services import rollout_start

        rollout_start(actor=actor, sop=sop, candidate=version, reason=reason, audit_data=signed)
        return version
    sop_version_make_live(
        actor=actor,
        sop=sop,
        version=version,
        reason=reason + (" (immediate)" if immediate and has_live else ""),
        action=AuditAction.VERSION_PUBLISH,
        audit_data=signed,
    )
    if build_bundle:
        bundle_publish(actor=actor, cause=PublicationCause.PUBLISH, reason=reason, version=version)
    return version


def _refuse_during_rollout(sop: SOP, what: str) -> None:
    """Raise ``InvalidTransition`` if a rollout of ``sop`` is running or paused."""
    if SOPVersion.objects.filter(sop=sop, status=VersionStatus.CANARY).exists():
        raise InvalidTransition(
            f"{sop.slug} has a rollout in progress; complete or abort it before you {what}.",
            extra={"rollout_active": True},
        )


@transaction.atomic
def sop_version_rollback(
    *, actor: Any, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Make a previously live (superseded or retired) version live again, signed; return it.

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version was never live.
    """
    sop, version, reason = _begin_release(actor, version, ROLLBACK, reason)
    _refuse_during_rollout(sop, "roll back")
    intent = signature_required(actor, signature, "rollback")
    sop_version_make_live(
        actor=actor,
        sop=sop,
        version=version,
        reason=reason,
        action=AuditAction.VERSION_ROLLBACK,
        audit_data=_sign(intent, version, reason),
    )
    bundle_publish(actor=actor, cause=PublicationCause.ROLLBACK, reason=reason, version=version)
    return version


@transaction.atomic
def sop_version_retire(
    *, actor: Any, version: SOPVersion, reason: str, signature: SignatureIntent | None = None
) -> SOPVersion:
    """Stop serving the live ``version``, signed (the SOP then has no live version); return it.

    Raises:
        InvalidInput: no reason, or no e-signature.
        PermissionDenied: not a release manager.
        InvalidTransition: the version is not live.
    """
    sop, version, reason = _begin_release(actor, version, RETIRE, reason)
    _refuse_during_rollout(sop, "retire it")
    intent = signature_required(actor, signature, "retire")
    before = _version_state(version)
    version.status = VersionStatus.RETIRED
    version.ended_at = timezone.now()
    _with_history_user(version, actor).save()
    sop.review_due_on = None  # nothing live, nothing to review
    sop.save(update_fields=["review_due_on", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_RETIRE,
        target=version,
        sop_slug=sop.slug,
        before=before,
        after=_version_state(version),
        reason=reason,
        data=_sign(intent, version, reason),
    )
    bundle_publish(actor=actor, cause=PublicationCause.RETIRE, reason=reason, version=version)
    return version


@transaction.atomic
def sop_review_confirm(*, actor: Any, sop: SOP, comment: str = "", signature: SignatureIntent | None = None) -> SOP:
    """Record a signed periodic review: the live version is still valid. The next review is due
    one review period from today. Return the SOP.

    (The other outcome of a review, a revision, is a new draft: ``sop_version_create``.)

    Raises:
        PermissionDenied: not the owner, a reviewer or an admin.
        InvalidTransition: nothing is live.
        InvalidInput: no e-signature (meaning "review_confirmed").
    """
    sop = SOP.objects.select_for_update(of=("self",)).select_related("category", "owner").get(pk=sop.pk)
    if actor is not None and not permissions.can_confirm_review(actor, sop):
        raise PermissionDenied("Only the SOP's owner, reviewers and admins can confirm a periodic review.")
    live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    if live is None:
        raise InvalidTransition(f"{sop.slug} has no live version to review.")
    comment = clean_reason(comment, required=False, field="comment")
    intent = signature_required(actor, signature, "review")
    before = {"review_due_on": sop.review_due_on.isoformat() if sop.review_due_on else None}
    live.sop = sop
    signed = _sign(intent, live, comment)
    sop.last_reviewed_at = timezone.now()
    sop.review_due_on = review_due_from(sop, timezone.localdate())
    sop.review_reminded_on = None
    _with_history_user(sop, actor).save()
    audit_record(
        actor=actor,
        action=AuditAction.SOP_REVIEW,
        target=sop,
        sop_slug=sop.slug,
        before=before,
        after={"review_due_on": sop.review_due_on.isoformat()},
        reason=comment,
        data={"version": live.number, "content_sha256": live.content_sha256, **signed},
    )
    return sop


REMIND_DAYS_BEFORE = 14
REMIND_EVERY_DAYS = 7


def sop_reviews_remind(today: date | None = None) -> list[int]:
    """Remind owners of SOPs whose periodic review is due within two weeks or overdue, at most
    once a week per SOP: mark the SOP, audit it (system) and e-mail the owner after commit.
    Return the ids of the SOPs reminded. Run daily by beat (``tasks.reviews_remind``)."""
    from datetime import timedelta

    from django.db.models import Q

    from .tasks import notify_review_due

    today = today or timezone.localdate()
    due = SOP.objects.filter(review_due_on__lte=today + timedelta(days=REMIND_DAYS_BEFORE)).filter(
        Q(review_reminded_on__isnull=True) | Q(review_reminded_on__lte=today - timedelta(days=REMIND_EVERY_DAYS))
    )
    reminded = []
    for sop_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            sop = SOP.objects.select_for_update(of=("self",)).select_related("category").get(pk=sop_id)
            sop.review_reminded_on = today
            sop.save(update_fields=["review_reminded_on"])
            overdue = sop.review_due_on is not None and sop.review_due_on < today
            audit_record(
                actor=None,
                action=AuditAction.SOP_REVIEW_REMINDER,
                target=sop,
                sop_slug=sop.slug,
                data={
                    "review_due_on": sop.review_due_on.isoformat() if sop.review_due_on else None,
                    "overdue": overdue,
                },
            )
            enqueue_on_commit(notify_review_due, sop.pk)
        reminded.append(sop_id)
    return reminded


SIGNED_ACTIONS = ("approve", "reject", "publish", "rollback", "retire")
"""Transitions a person must e-sign (the system, ``actor=None``, signs nothing)."""

TRANSITION_SERVICES: dict[str, Callable[..., SOPVersion]] = {
    "submit": sop_version_submit,
    "approve": sop_version_approve,
    "reject": sop_version_reject,
    "publish": sop_version_publish,
    "rollback": sop_version_rollback,
    "retire": sop_version_retire,
}
"""Action name → service; every service takes ``actor`` and ``version`` plus its text argument
(and ``signature`` for ``SIGNED_ACTIONS``)."""


@transaction.atomic
def category_update(
    *,
    actor: Any | None,
    category: Category,
    name: str,
    description: str,
    min_approvals: int,
    review_period_months: int | None = None,
) -> Category:
    """Change a category's name, description, approval policy and review period; return it.

    A new minimum applies to approvals recorded from now on; versions already approved stay so.
    A new review period applies from the next time a version goes live or is reviewed.

    Raises:
        InvalidInput: ``min_approvals`` < 1, or a review period outside 1–60 months.
    """
    if not isinstance(min_approvals, int) or min_approvals < 1:
        raise InvalidInput("A category needs at least one approval.", field_errors={"min_approvals": ["At least 1."]})
    category = Category.objects.select_for_update().get(pk=category.pk)
    months = (
        category.review_period_months if review_period_months is None else _clean_review_period(review_period_months)
    )

    def state() -> dict[str, Any]:
        return {
            "name": category.name,
            "description": category.description,
            "min_approvals": category.min_approvals,
            "review_period_months": category.review_period_months,
        }

    before = state()
    category.name, category.description, category.min_approvals, category.review_period_months = (
        name.strip() or category.slug,
        description,
        min_approvals,
        months,
    )
    _with_history_user(category, actor).save()
    after = state()
    if after != before:
        audit_record(actor=actor, action=AuditAction.CATEGORY_UPDATE, target=category, before=before, after=after)
    return category
