"""Categories: their approval policy and periodic review period."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import (
    Conflict,
    InvalidInput,
)

from ..models import (
    Category,
)
from ..validation import clean_category_slug
from ._common import _with_history_user

# --- categories ------------------------------------------------------------------------


ROUTING_POLICIES = ("report", "no_regressions")


def _clean_review_period(months: Any) -> int:
    if not isinstance(months, int) or not 1 <= months <= 60:
        raise InvalidInput(
            "The review period is 1 to 60 months.", field_errors={"review_period_months": ["1 to 60 months."]}
        )
    return months


@transaction.atomic
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


@transaction.atomic
def category_update(
    *,
    actor: Any | None,
    category: Category,
    name: str,
    description: str,
    min_approvals: int,
    review_period_months: int | None = None,
    routing_policy: str | None = None,
) -> Category:
    """Change a category's name, description, approval policy (approvals, routing policy) and
    review period; return it.

    A new minimum applies to approvals recorded from now on; versions already approved stay so.
    A new review period applies from the next time a version goes live or is reviewed.

    Raises:
        InvalidInput: ``min_approvals`` < 1, or a review period outside 1–60 months.
    """
    if not isinstance(min_approvals, int) or min_approvals < 1:
        raise InvalidInput("A category needs at least one approval.", field_errors={"min_approvals": ["At least 1."]})
    if routing_policy is not None and routing_policy not in ROUTING_POLICIES:
        raise InvalidInput(
            f"The routing policy is one of {', '.join(ROUTING_POLICIES)}.",
            field_errors={"routing_policy": ["Unknown policy."]},
        )
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
            "routing_policy": category.routing_policy,
        }

    before = state()
    category.name, category.description, category.min_approvals, category.review_period_months = (
        name.strip() or category.slug,
        description,
        min_approvals,
        months,
    )
    if routing_policy is not None:
        category.routing_policy = routing_policy
    _with_history_user(category, actor).save()
    after = state()
    if after != before:
        audit_record(actor=actor, action=AuditAction.CATEGORY_UPDATE, target=category, before=before, after=after)
    return category
