"""Every write to rollouts and outcomes: start, advance, pause, resume, abort, complete, the
automatic decisions, and recording outcome signals.

Each control locks the SOP row, then the rollout; checks the role (``apps.sops.permissions``) and
the state; changes the versions and the rollout; writes the audit event in the same transaction
— by the person, or by the system (``actor=None``) for automatic decisions, with the numbers
that caused them — and publishes a bundle whenever what agents are served changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied
from apps.core.tasks import enqueue_on_commit
from apps.publishing.models import PublicationCause
from apps.publishing.services import bundle_publish
from apps.sops import permissions
from apps.sops.models import SOP, SOPVersion, VersionStatus
from apps.sops.validation import clean_reason
from mcp_bridge.bucketing import gets_canary

from .models import ACTIVE_STATES, Outcome, OutcomeKind, OutcomeSource, Rollout, RolloutPlan, RolloutState
from .selectors import gate_results, plan_for_category

MAX_OUTCOMES_PER_BATCH = 5000


def plan_snapshot(plan: RolloutPlan | None) -> list[dict[str, Any]]:
    """Return ``plan``'s stages with their gates as plain data (what a rollout keeps).

    Without a plan, or with one whose stages are empty, a single 100 % stage.
    """
    from .models import PlanStage

    stages = []
    # Queried afresh: the plan instance may carry stages prefetched before an edit.
    for stage in PlanStage.objects.filter(plan=plan).prefetch_related("gates") if plan else []:
        stages.append(
            {
                "percentage": stage.percentage,
                "min_soak_seconds": stage.min_soak_seconds,
                "gates": [
                    {
                        "metric": g.metric,
                        "comparison": g.comparison,
                        "operator": g.operator,
                        "threshold": g.threshold,
                        "window_seconds": g.window_seconds,
                        "min_samples": g.min_samples,
                    }
                    for g in stage.gates.all()
                ],
            }
        )
    return stages or [{"percentage": 100, "min_soak_seconds": 0, "gates": []}]


@transaction.atomic
def rollout_plan_save(*, plan: RolloutPlan) -> RolloutPlan:
    """Save a plan's name, description and default flag; making it the default unsets the old one."""
    if plan.is_default:
        RolloutPlan.objects.exclude(pk=plan.pk).filter(is_default=True).update(is_default=False)
    plan.save()
    return plan


@transaction.atomic
def rollout_plan_record_change(
    *, actor: Any, plan: RolloutPlan, before: list[dict[str, Any]], categories: list[Any] | None = None
) -> None:
    """After a plan and its stages were edited: assign ``categories`` to it (when given; others
    that used it fall back to the default plan) and audit the plan as it was and is. Running
    rollouts keep the stages they started with.

    Raises:
        InvalidInput: the stages do not rise strictly to 100 %.
    """
    from apps.sops.models import Category

    from .validation import check_stages

    after = plan_snapshot(plan)
    check_stages([s["percentage"] for s in after])
    data: dict[str, Any] = {}
    if categories is not None:
        chosen = {c.pk for c in categories}
        for category in Category.objects.filter(rollout_plan=plan).exclude(pk__in=chosen):
            category.rollout_plan = None
            category.save(update_fields=["rollout_plan"])
        for category in Category.objects.filter(pk__in=chosen).exclude(rollout_plan=plan):
            category.rollout_plan = plan
            category.save(update_fields=["rollout_plan"])
        data["categories"] = sorted(c.slug for c in categories)
    if after != before or data:
        audit_record(
            actor=actor,
            action=AuditAction.PLAN_CHANGE,
            target=plan,
            before={"stages": before},
            after={"stages": after, **data},
        )


def _rollout_state(rollout: Rollout) -> dict[str, Any]:
    return {"state": rollout.state, "stage": rollout.stage_index, "percentage": rollout.percentage}


def _check_release(actor: Any | None, rollout: Rollout) -> None:
    if actor is not None and not permissions.can_control_rollout(actor, rollout):
        raise PermissionDenied("Only release managers may control rollouts.")


def _lock(rollout: Rollout) -> Rollout:
    """Lock the rollout's SOP, then the rollout; return it freshly read."""
    SOP.objects.select_for_update(of=("self",)).get(pk=rollout.sop_id)
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("sop__category", "stable_version", "candidate_version")
        .get(pk=rollout.pk)
    )


_PAST = {"advance": "advanced", "pause": "paused", "resume": "resumed", "abort": "aborted", "complete": "completed"}


def _guard_active(rollout: Rollout, action: str) -> None:
    """Raise ``InvalidTransition`` unless ``action`` applies to the rollout's state
    (``permissions.ROLLOUT_CONTROL_STATES``)."""
    states = permissions.ROLLOUT_CONTROL_STATES[action]
    if rollout.state not in states:
        allowed = " or ".join(RolloutState(s).label.lower() for s in states)
        raise InvalidTransition(
            f"Cannot {action} the rollout of {rollout.sop.slug}: it is {rollout.get_state_display().lower()}; "
            f"only a {allowed} rollout can be {_PAST[action]}.",
            extra={"state": rollout.state},
        )


def _audit(
    rollout: Rollout,
    actor: Any | None,
    action: AuditAction,
    before: dict[str, Any],
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=rollout,
        sop_slug=rollout.sop.slug,
        before=before,
        after=_rollout_state(rollout),
        reason=reason,
        data={"stable": rollout.stable_version.number, "candidate": rollout.candidate_version.number, **(data or {})},
    )


def rollout_start(
    *, actor: Any | None, sop: SOP, candidate: SOPVersion, reason: str, audit_data: dict[str, Any] | None = None
) -> Rollout:
    """Start moving ``sop`` from its live version to ``candidate`` (an approved version) through
    the category's plan; the candidate becomes the canary at the first stage. Return the rollout.

    Called by ``sop_version_publish``, which holds the SOP's lock and checked role and state.
    A plan whose first stage is 100 % makes the candidate live at once.

    Raises:
        InvalidTransition: the SOP has no live version, or a rollout is already active.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rollout_start must run inside the publish transaction")
    stable = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    if stable is None:
        raise InvalidTransition(f"{sop.slug} has no live version to roll out from.")
    if Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).exists():
        raise InvalidTransition(f"{sop.slug} already has a rollout in progress.")
    plan = plan_for_category(sop.category)
    stages = plan_snapshot(plan)
    now = timezone.now()
    before = {"status": candidate.status}
    candidate.status = VersionStatus.CANARY
    candidate.published_at = now
    candidate.published_by = actor
    candidate._history_user = actor  # type: ignore[attr-defined]
    candidate.save()
    rollout = Rollout.objects.create(
        sop=sop,
        stable_version=stable,
        candidate_version=candidate,
        plan_name=plan.name if plan else "immediate",
        stages=stages,
        stage_index=0,
        percentage=stages[0]["percentage"],
        started_by=actor,
        stage_started_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_PUBLISH,
        target=candidate,
        sop_slug=sop.slug,
        before=before,
        after={"status": candidate.status, "number": candidate.number, "content_sha256": candidate.content_sha256},
        reason=reason,
        data={"rollout": rollout.pk, "replaces": stable.number, **(audit_data or {})},
    )
    _audit(
        rollout,
        actor,
        AuditAction.ROLLOUT_START,
        {"state": None},
        reason,
        {"plan": rollout.plan_name, "stages": [s["percentage"] for s in stages]},
    )
    if rollout.percentage >= 100:
        _complete(rollout, actor, reason or "the plan has a single 100 % stage", {})
        return rollout
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_START, reason=reason, version=candidate)
    return rollout


def _complete(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    from apps.sops.services import sop_version_make_live

    before = _rollout_state(rollout)
    sop_version_make_live(
        actor=actor,
        sop=rollout.sop,
        version=rollout.candidate_version,
        reason=reason,
        action=AuditAction.VERSION_PUBLISH,
    )
    rollout.state = RolloutState.COMPLETED
    rollout.percentage = 100
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_COMPLETE, before, reason, data)
    bundle_publish(
        actor=actor, cause=PublicationCause.ROLLOUT_COMPLETE, reason=reason, version=rollout.candidate_version
    )


def _end_back_to_stable(
    rollout: Rollout,
    actor: Any | None,
    state: RolloutState,
    action: AuditAction,
    cause: PublicationCause,
    reason: str,
    data: dict[str, Any],
) -> None:
    before = _rollout_state(rollout)
    candidate = rollout.candidate_version
    candidate.status = VersionStatus.APPROVED
    candidate._history_user = actor  # type: ignore[attr-defined]
    candidate.save()
    rollout.state = state
    rollout.percentage = 0
    rollout.ended_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, action, before, reason, data)
    bundle_publish(actor=actor, cause=cause, reason=reason, version=candidate)


def _advance(rollout: Rollout, actor: Any | None, reason: str, data: dict[str, Any]) -> None:
    if rollout.stage_index + 1 >= len(rollout.stages) or rollout.stages[rollout.stage_index + 1]["percentage"] >= 100:
        _complete(rollout, actor, reason, data)
        return
    before = _rollout_state(rollout)
    rollout.stage_index += 1
    rollout.percentage = rollout.stage["percentage"]
    rollout.stage_started_at = timezone.now()
    rollout.last_evaluation = {}
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_ADVANCE, before, reason, data)
    bundle_publish(actor=actor, cause=PublicationCause.ROLLOUT_STEP, reason=reason, version=rollout.candidate_version)


@transaction.atomic
def rollout_advance(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Move a running rollout to its next stage now, without waiting for the soak time or the
    gates; the last step completes it. Return the rollout.

    Raises:
        PermissionDenied: not a release manager. InvalidTransition: not running. InvalidInput: no reason.
    """
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "advance")
    _advance(rollout, actor, clean_reason(reason, required=True), {"manual": True})
    return rollout


@transaction.atomic
def rollout_pause(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Hold a running rollout at its stage: it stops advancing; a breached gate still rolls it
    back (safety is never paused). Return the rollout."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "pause")
    reason = clean_reason(reason, required=True)
    before = _rollout_state(rollout)
    rollout.state = RolloutState.PAUSED
    rollout.paused_at = timezone.now()
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_PAUSE, before, reason)
    return rollout


@transaction.atomic
def rollout_resume(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Let a paused rollout advance again; time spent paused does not count as soak time."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "resume")
    reason = clean_reason(reason, required=True)
    before = _rollout_state(rollout)
    now = timezone.now()
    if rollout.paused_at is not None:
        rollout.stage_started_at += now - rollout.paused_at
    rollout.state = RolloutState.RUNNING
    rollout.paused_at = None
    rollout.save()
    _audit(rollout, actor, AuditAction.ROLLOUT_RESUME, before, reason)
    return rollout


@transaction.atomic
def rollout_abort(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Stop the rollout and serve stable to everyone again; the candidate returns to approved."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "abort")
    _end_back_to_stable(
        rollout,
        actor,
        RolloutState.ABORTED,
        AuditAction.ROLLOUT_ABORT,
        PublicationCause.ROLLOUT_ABORT,
        clean_reason(reason, required=True),
        {},
    )
    return rollout


@transaction.atomic
def rollout_complete(*, actor: Any, rollout: Rollout, reason: str) -> Rollout:
    """Promote the candidate to 100 % now: it becomes the live version, stable is superseded."""
    rollout = _lock(rollout)
    _check_release(actor, rollout)
    _guard_active(rollout, "complete")
    _complete(rollout, actor, clean_reason(reason, required=True), {"manual": True})
    return rollout


ROLLOUT_CONTROLS = {
    "advance": rollout_advance,
    "pause": rollout_pause,
    "resume": rollout_resume,
    "abort": rollout_abort,
    "complete": rollout_complete,
}
"""Control name → service; each takes ``actor``, ``rollout`` and ``reason``."""


@transaction.atomic
def rollout_evaluate(*, rollout_id: int, now: datetime | None = None) -> str:
    """Check the gates of an active rollout and act on them as the system; return what happened.

    * a gate fails (with enough samples): roll back to stable — ``"rolled_back"``;
    * paused: nothing more — ``"paused"``;
    * the stage's soak time is not over: ``"soaking"``;
    * a gate lacks samples once the soak is over: wait (audited once per stage) — ``"waiting"``;
    * otherwise: next stage, or complete at the last — ``"advanced"`` / ``"completed"``.

    Idempotent and safe to run from several workers: the rollout row is locked, and an ended
    rollout is left alone (``"inactive"``).
    """
    now = now or timezone.now()
    rollout = Rollout.objects.filter(pk=rollout_id).first()
    if rollout is None:
        return "inactive"
    rollout = _lock(rollout)
    if not rollout.is_active:
        return "inactive"
    results = gate_results(rollout, now)
    summary = [
        {k: r[k] for k in ("metric", "comparison", "operator", "threshold", "status", "value", "candidate")}
        | ({"stable": r["stable"]} if "stable" in r else {})
        for r in results
    ]
    waited = rollout.last_evaluation.get("waiting_audited_for_stage") == rollout.stage_index
    rollout.last_evaluation = {
        "at": now.isoformat(),
        "stage": rollout.stage_index,
        "gates": results,
        **({"waiting_audited_for_stage": rollout.stage_index} if waited else {}),
    }
    rollout.evaluated_at = now
    failed = [r for r in summary if r["status"] == "fail"]
    if failed:
        reason = "Gate failed: " + "; ".join(_describe(r) for r in failed)
        _end_back_to_stable(
            rollout,
            None,
            RolloutState.ROLLED_BACK,
            AuditAction.ROLLOUT_ROLLBACK,
            PublicationCause.ROLLOUT_ROLLBACK,
            reason,
            {"gates": summary},
        )
        return "rolled_back"
    if rollout.state == RolloutState.PAUSED:
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "paused"
    if now - rollout.stage_started_at < timedelta(seconds=int(rollout.stage["min_soak_seconds"])):
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "soaking"
    waiting = [r for r in summary if r["status"] == "inconclusive"]
    if waiting:
        if not waited:
            rollout.last_evaluation["waiting_audited_for_stage"] = rollout.stage_index
            audit_record(
                actor=None,
                action=AuditAction.ROLLOUT_WAIT,
                target=rollout,
                sop_slug=rollout.sop.slug,
                reason="Soak time over, but too few outcomes to judge: " + "; ".join(_describe(r) for r in waiting),
                data={"gates": summary, "stage": rollout.stage_index, "percentage": rollout.percentage},
            )
        rollout.save(update_fields=["last_evaluation", "evaluated_at"])
        return "waiting"
    completing = (
        rollout.stage_index + 1 >= len(rollout.stages) or rollout.stages[rollout.stage_index + 1]["percentage"] >= 100
    )
    reason = f"Stage {rollout.percentage} % soaked {int((now - rollout.stage_started_at).total_seconds())} s" + (
        " and every gate passed: " + "; ".join(_describe(r) for r in summary) if summary else " (no gates)"
    )
    _advance(rollout, None, reason, {"gates": summary})
    return "completed" if completing else "advanced"


def _describe(result: dict[str, Any]) -> str:
    """One line of a gate result for an audit reason, e.g. ``complaint rate ÷ stable's = 3.20 (≤ 1.5): fail, 60 vs 58 outcomes``."""
    name = result["metric"].replace("_", " ") + (" ÷ stable's" if result["comparison"] == "relative" else "")
    value = "n/a" if result["value"] is None else f"{result['value']:.3f}"
    samples = f"{result['candidate']['n']} candidate outcomes"
    if "stable" in result:
        samples += f", {result['stable']['n']} stable"
    return f"{name} = {value} (needs {result['operator']} {result['threshold']:g}): {result['status']}, {samples}"


def active_rollout_ids() -> list[int]:
    """Return the ids of running and paused rollouts."""
    return list(Rollout.objects.filter(state__in=ACTIVE_STATES).values_list("pk", flat=True))


# --- outcomes ------------------------------------------------------------------------------


def _parse_time(value: Any, default: datetime) -> datetime:
    if value in (None, ""):
        return default
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise InvalidInput(f"{value!r} is not an ISO 8601 date-time.")
    return parsed


def outcomes_record(
    *, records: list[Any], source: OutcomeSource, reporter: str = ""
) -> tuple[int, list[dict[str, Any]]]:
    """Store outcome records ``{outcome_id, recorded_at?, version_id, routing_key, outcome,
    reporter?}``; return how many were new and the rejected ones (``{"index", "error"}``).

    Records are judged one by one: a malformed one (unknown outcome kind or version, bad id or
    time) is rejected with its reason, the others are stored. Re-sent records (same
    ``outcome_id``) count once. Rollouts whose candidate received outcomes are re-evaluated
    after commit, so a breached gate rolls back without waiting for the next beat tick.

    Raises:
        InvalidInput: not a list, or more than 5,000 records.
    """
    if not isinstance(records, list) or len(records) > MAX_OUTCOMES_PER_BATCH:
        raise InvalidInput(f"Outcomes must be a list of at most {MAX_OUTCOMES_PER_BATCH}.")
    now = timezone.now()
    wanted: set[int] = {
        r["version_id"] for r in records if isinstance(r, dict) and isinstance(r.get("version_id"), int)
    }
    sop_of = dict(SOPVersion.objects.filter(pk__in=wanted).values_list("pk", "sop_id"))
    rows: list[Outcome] = []
    rejected: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise ValueError("an outcome must be an object")
            kind = str(record.get("outcome"))
            if kind not in OutcomeKind.values:
                raise ValueError(f"outcome must be one of {', '.join(OutcomeKind.values)}, not {kind!r}")
            version_id = record.get("version_id")
            if version_id not in sop_of:
                raise ValueError(f"no version with id {version_id!r}")
            rows.append(
                Outcome(
                    outcome_id=uuid.UUID(str(record.get("outcome_id") or uuid.uuid4())),
                    recorded_at=_parse_time(record.get("recorded_at"), now),
                    sop_id=sop_of[version_id],
                    version_id=version_id,
                    routing_key=str(record.get("routing_key") or "")[:200],
                    outcome=kind,
                    source=source,
                    reporter=str(record.get("reporter") or reporter)[:100],
                )
            )
        except (TypeError, ValueError, InvalidInput) as exc:
            rejected.append({"index": index, "error": getattr(exc, "message", None) or str(exc)})
    with transaction.atomic():
        known = set(
            Outcome.objects.filter(outcome_id__in=[r.outcome_id for r in rows]).values_list("outcome_id", flat=True)
        )
        new = [r for r in rows if r.outcome_id not in known]
        Outcome.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        affected = list(
            Rollout.objects.filter(
                state__in=ACTIVE_STATES, candidate_version_id__in={r.version_id for r in new}
            ).values_list("pk", flat=True)
        )
        if affected:
            from .tasks import rollouts_evaluate

            enqueue_on_commit(rollouts_evaluate, affected)
    return len(new), rejected


def served_version(*, sop: SOP, routing_key: str) -> tuple[SOPVersion, int | None]:
    """Return the version a conversation with ``routing_key`` is served now, and its bucket
    (``None`` without a routing key or a canary) — the same rule as the bridge (``bucketing``).

    Raises:
        NotFound: nothing of the SOP is live.
    """
    live = SOPVersion.objects.filter(sop=sop, status=VersionStatus.LIVE).first()
    rollout = Rollout.objects.filter(sop=sop, state__in=ACTIVE_STATES).select_related("candidate_version").first()
    if rollout is not None and routing_key:
        canary, b = gets_canary(sop.salt, routing_key, rollout.percentage)
        return (rollout.candidate_version if canary else rollout.stable_version), b
    if live is None:
        raise NotFound(f"Nothing of {sop.slug} is live.")
    return live, None


def outcome_report(
    *,
    reporter: str,
    category: str,
    sop_key: str,
    routing_key: str,
    outcome: str,
    version: int | None = None,
    source: OutcomeSource = OutcomeSource.API,
) -> Outcome:
    """Record how one conversation ended. Without ``version``, the version that conversation is
    served now is assumed (sticky bucketing makes that the one it was served). Return the outcome.

    Raises:
        NotFound: no SOP ``category/sop_key``, or no such version.
        InvalidInput: unknown outcome kind, empty routing key.
    """
    sop = SOP.objects.filter(category__slug=category, key=sop_key).first()
    if sop is None:
        raise NotFound(f"No SOP {category}/{sop_key}.")
    if not routing_key or not str(routing_key).strip():
        raise InvalidInput(
            "routing_key (the conversation id) is required.", field_errors={"routing_key": ["Required."]}
        )
    if version is not None:
        chosen = sop.versions.filter(number=version).first()
        if chosen is None:
            raise NotFound(f"{sop.slug} has no version {version}.")
    else:
        chosen, _ = served_version(sop=sop, routing_key=routing_key)
    outcome_id = str(uuid.uuid4())
    record = {
        "outcome_id": outcome_id,
        "version_id": chosen.pk,
        "routing_key": routing_key,
        "outcome": outcome,
        "reporter": reporter,
    }
    _, rejected = outcomes_record(records=[record], source=source, reporter=reporter)
    if rejected:
        raise InvalidInput(rejected[0]["error"], field_errors={"outcome": [rejected[0]["error"]]})
    return Outcome.objects.get(outcome_id=outcome_id)
