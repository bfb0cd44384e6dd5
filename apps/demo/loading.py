"""Loading the demo: people in each role, categories with their approval policy, the demo
library published through the normal lifecycle, and agent tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts import roles
from apps.agents.models import AgentToken
from apps.agents.services import agent_token_issue, agent_token_revoke
from apps.agents.tokens import generate_token, hash_token
from apps.releases.importing import library_import
from apps.sops.importing import ImportResult
from apps.sops.models import Category
from apps.sops.services import category_create

from . import banking77

DEMO_USERS = {
    "author": [roles.AUTHOR],
    "reviewer": [roles.REVIEWER],
    "reviewer2": [roles.REVIEWER],
    "release": [roles.RELEASE_MANAGER],
    "auditor": [roles.AUDITOR],
    "admin": [roles.ADMIN],
}
DEMO_CATEGORIES = [
    ("billing", "Billing", "Refunds, payment methods and subscriptions.", 2),
    ("technical_support", "Technical support", "Sign-in problems and outages.", 1),
    ("product", "Product", "Warranty, returns and compatibility.", 1),
    ("banking", "Banking", "Card, transfer and account procedures (one per Banking77 intent).", 1),
]
DEMO_TOKENS = {
    "demo-agent": ("SOPGOV_AGENT_TOKEN", ["sop:read", "sop:propose", "sop:report"]),
    "bridge": ("SOPGOV_BRIDGE_TOKEN", ["bridge:sync"]),
}


def demo_users(password: str) -> dict[str, Any]:
    """Create (or reset the password of) the demo users, each in its role group; return them by name."""
    user_model = get_user_model()
    users = {}
    for name, groups in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=name, defaults={"email": f"{name}@example.com"})
        user.is_staff = True
        user.is_superuser = name == "admin"
        user.set_password(password)
        user.save()
        user.groups.set(Group.objects.filter(name__in=groups))
        users[name] = user
    return users


def demo_library_rows() -> list[tuple[int, dict[str, Any]]]:
    """Return the demo library as import rows: the customer-service SOPs, then Banking77's."""
    service = json.loads((banking77.LIBRARY_DIR / "customer_service.json").read_text(encoding="utf-8"))
    rows = service + banking77.library_rows()
    return [(i + 1, row) for i, row in enumerate(rows)]


def demo_tokens(tokens_file: Path | None) -> dict[str, str]:
    """Issue the demo agent and bridge tokens and return ``{env var: raw token}``.

    Raw tokens are stored only in ``tokens_file`` (an env file the Makefile reads). When it
    holds a token that is still active it is kept, so re-running the demo keeps working
    clients working; otherwise the old token is revoked and a new one issued.
    """
    saved: dict[str, str] = {}
    if tokens_file is not None and tokens_file.exists():
        for line in tokens_file.read_text().splitlines():
            key, _, value = line.partition("=")
            saved[key.strip()] = value.strip()
    out = {}
    for name, (env_name, scopes) in DEMO_TOKENS.items():
        raw = saved.get(env_name) or ""
        active = AgentToken.objects.filter(name=name, revoked_at__isnull=True).first()
        if active is not None and active.token_sha256 != hash_token(raw):
            agent_token_revoke(actor=None, token=active, reason="demo reloaded without its saved token")
        if not raw or (active is not None and active.token_sha256 != hash_token(raw)):
            raw = generate_token()
        agent_token_issue(actor=None, name=name, scopes=scopes, raw_token=raw)
        out[env_name] = raw
    if tokens_file is not None:
        tokens_file.parent.mkdir(parents=True, exist_ok=True)
        tokens_file.write_text("".join(f"{k}={v}\n" for k, v in out.items()))
    return out


DEMO_PLAN = "Demo (fast)"


def demo_plan() -> None:
    """Give every demo category a plan that moves in minutes, so a rollout can be watched."""
    from apps.rollouts.defaults import create_plan
    from apps.rollouts.models import CategoryPlan, RolloutPlan

    plan = RolloutPlan.objects.filter(name=DEMO_PLAN).first()
    if plan is None:
        plan = create_plan(
            DEMO_PLAN,
            "For the demo: 5 → 10 → 50 → 100 %, a minute or two per stage and 20–50 candidate outcomes; rolled "
            "back when complaints or escalations are clearly above stable's, or errors clearly above 10 %.",
            [(5, 60, 20), (10, 60, 20), (50, 120, 50), (100, 0, 0)],
            [
                ("complaint_rate", "relative", 1.0),
                ("escalation_rate", "relative", 1.0),
                ("error_rate", "absolute", 0.1),
            ],
        )
    for category in Category.objects.filter(slug__in=[c[0] for c in DEMO_CATEGORIES]):
        CategoryPlan.objects.get_or_create(category=category, defaults={"plan": plan})


@transaction.atomic
def load_demo(*, password: str, tokens_file: Path | None = None) -> tuple[ImportResult, dict[str, str]]:
    """Load everything the demo needs; safe to run again (unchanged SOPs are skipped)."""
    users = demo_users(password)
    for slug, name, description, approvals in DEMO_CATEGORIES:
        if not Category.objects.filter(slug=slug).exists():
            category_create(
                actor=users["admin"], slug=slug, name=name, description=description, min_approvals=approvals
            )
    demo_plan()
    result = library_import(
        rows=demo_library_rows(),
        author=users["author"],
        publish=True,
        approvers=[users["reviewer"], users["reviewer2"]],
        publisher=users["release"],
        attested_by="the demo loader",
    )
    demo_routing_tests(users["reviewer"])
    return result, demo_tokens(tokens_file)


def demo_routing_tests(reviewer: Any) -> int:
    """Give each banking SOP a few real held-out questions as routing tests (skipping those it
    has); return how many were added."""
    from apps.sops.models import SOP, RoutingTest
    from apps.sops.services import routing_test_add

    added = 0
    for slug, questions in banking77.routing_tests().items():
        category, key = slug.split("/", 1)
        sop = SOP.objects.filter(category__slug=category, key=key).first()
        if sop is None:
            continue
        for question in questions:
            if not RoutingTest.objects.filter(sop=sop, question=" ".join(question.split())).exists():
                routing_test_add(actor=reviewer, sop=sop, question=question)
                added += 1
    return added
